//! The path of a field inside a request, kept as segments so that each transport
//! names it in the shape of its own request: gRPC wraps an attribute's values in
//! a message (`attributeValues["Ticket"].values[0]`), the REST body does not
//! (`attributeValues.Ticket[0]`).

use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A field of an object, by its JSON name.
    Field(String),
    /// An item of a list.
    Index(usize),
    /// An entry of a map, by its key (an attribute's name).
    Key(String),
    /// The list of an attribute's values. The gRPC request holds it in a message
    /// (`.values`); in the REST body the map's value is the list itself.
    Values,
}

/// A path from the root of a request to one of its fields; empty for the request
/// as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.0.push(Segment::Field(name.into()));
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Segment::Index(index));
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.0.push(Segment::Key(key.into()));
        self
    }

    pub fn values(mut self) -> Self {
        self.0.push(Segment::Values);
        self
    }

    /// `prefix` followed by this path.
    pub fn within(self, prefix: &FieldPath) -> Self {
        let mut segments = prefix.0.clone();
        segments.extend(self.0);
        Self(segments)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The path without its first segment, when that is `field`.
    pub fn strip_field(&self, field: &str) -> Option<FieldPath> {
        match self.0.split_first() {
            Some((Segment::Field(first), rest)) if first == field => Some(Self(rest.to_vec())),
            _ => None,
        }
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

/// A path written with dots and indices (`jurisdictions[0].stateProvinceCode`):
/// fields and list items only; map keys need [`FieldPath::key`].
impl From<&str> for FieldPath {
    fn from(written: &str) -> Self {
        let mut path = Self::root();
        for part in written.split('.').filter(|p| !p.is_empty()) {
            let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
            if !name.is_empty() {
                path = path.field(name);
            }
            while let Some((index, after)) = rest.split_once(']') {
                match index.parse() {
                    Ok(i) => path = path.index(i),
                    Err(_) => path = path.field(index),
                }
                rest = after.strip_prefix('[').unwrap_or(after);
            }
        }
        path
    }
}

impl From<String> for FieldPath {
    fn from(written: String) -> Self {
        Self::from(written.as_str())
    }
}

impl From<&String> for FieldPath {
    fn from(written: &String) -> Self {
        Self::from(written.as_str())
    }
}

/// The path as the gRPC request names it (`incident.attributeValues["Ticket"].values[0].id`),
/// which is also how logs and tests show it.
impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => write!(f, "[{key:?}]")?,
                Segment::Values => f.write_str(".values")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_paths_become_segments() {
        let path = FieldPath::from("incident.jurisdictions[0].stateProvinceCode");
        assert_eq!(
            path.segments(),
            [
                Segment::Field("incident".into()),
                Segment::Field("jurisdictions".into()),
                Segment::Index(0),
                Segment::Field("stateProvinceCode".into()),
            ]
        );
        assert_eq!(path.to_string(), "incident.jurisdictions[0].stateProvinceCode");
        assert_eq!(
            FieldPath::from("updateMask.paths[2]").to_string(),
            "updateMask.paths[2]"
        );
        assert!(FieldPath::from("").is_root());
    }

    #[test]
    fn attribute_values_show_their_grpc_wrapper() {
        let path = FieldPath::root()
            .field("attributeValues")
            .key("Data \"Category\"")
            .values()
            .index(1)
            .field("id")
            .within(&FieldPath::from("incident"));
        assert_eq!(
            path.to_string(),
            r#"incident.attributeValues["Data \"Category\""].values[1].id"#
        );
    }
}
