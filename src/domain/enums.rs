//! The closed vocabularies of the register. Each is stored and shown under its
//! original API name (`MANUAL`, `YES`, `USER`, `SINGLE_SELECT`, ...).

use strum::{EnumString, IntoStaticStr, VariantNames};

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, EnumString, IntoStaticStr, VariantNames, serde::Serialize,
            serde::Deserialize,
        )]
        #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The original API's names of every value.
            pub const NAMES: &'static [&'static str] = <Self as VariantNames>::VARIANTS;

            /// The original API's name of this value.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

vocabulary!(
    /// Where an incident came from. `None` is only ever shown, never accepted.
    SourceType { Manual, Assessment, Webform, Integration, None }
);
vocabulary!(
    /// Whether authorities or individuals must be notified.
    NotificationNeeded { Yes, No, Unknown }
);
vocabulary!(
    /// A directory entry: a user or a user group.
    AssigneeKind { User, Group }
);
vocabulary!(
    /// The kind of a custom attribute.
    AttributeKind { Text, SingleSelect, MultiSelect }
);
vocabulary!(
    /// Whether an incident is still being worked on.
    IncidentStatus { Open, Closed }
);
vocabulary!(
    /// How urgent notifying in a jurisdiction is.
    Urgency { Low, Medium, High, None }
);
vocabulary!(
    /// Whether a recipient (the authority, the individuals) must be notified.
    NotifyState { NotificationRequired, NotificationNotRequired, NeedsMoreInfo }
);
vocabulary!(
    /// Who a notification rule says must be told: the supervisory authority
    /// (or attorney general), or the affected individuals.
    Recipient { Authority, Individuals }
);
vocabulary!(
    /// The moment a law counts its window from. The incident records
    /// `dateDiscovered` only, which stands in for each of them.
    ClockStart { Awareness, Discovery, Determination, Assessment }
);
vocabulary!(
    /// The unit of a notification window; `None` for "without undue delay" or
    /// "as soon as feasible", which give no fixed deadline.
    WindowUnit { Hours, CalendarDays, BusinessDays, None }
);

/// Parses an optional vocabulary name from a request: absent means `default`,
/// and only the names in `accepted` are allowed.
pub fn parse_choice<T>(raw: Option<&str>, default: T, accepted: &[T]) -> Result<T, String>
where
    T: Copy + PartialEq + std::str::FromStr + Into<&'static str>,
{
    let Some(raw) = raw else { return Ok(default) };
    match raw.parse::<T>() {
        Ok(value) if accepted.contains(&value) => Ok(value),
        _ => {
            let names: Vec<&'static str> = accepted.iter().map(|v| (*v).into()).collect();
            Err(format!(
                "must be one of {}, got {}",
                names.join(", "),
                super::text::shorten(raw)
            ))
        }
    }
}

/// A vocabulary value kept under its original API name (`AUTHORITY`) rather
/// than its Rust name, for JSON that reads like a request
/// (`#[serde(with = "by_name")]`).
pub mod by_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<T, S>(value: &T, s: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<&'static str>,
        S: Serializer,
    {
        s.serialize_str((*value).into())
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: std::str::FromStr,
        D: Deserializer<'de>,
    {
        let name = String::deserialize(d)?;
        name.parse()
            .map_err(|_| D::Error::custom(format!("unknown name {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(SourceType::Webform.as_str(), "WEBFORM");
        assert_eq!(
            "SINGLE_SELECT".parse::<AttributeKind>(),
            Ok(AttributeKind::SingleSelect)
        );
    }

    #[test]
    fn none_is_not_a_request_source_type() {
        let accepted = [SourceType::Manual, SourceType::Assessment];
        assert_eq!(
            parse_choice(None, SourceType::Manual, &accepted),
            Ok(SourceType::Manual)
        );
        assert!(parse_choice(Some("NONE"), SourceType::Manual, &accepted).is_err());
        assert!(parse_choice(Some("manual"), SourceType::Manual, &accepted).is_err());
    }
}
