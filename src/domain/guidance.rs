//! What an incident owes to whom, and by when, in one jurisdiction: the
//! catalogue's rules applied to the incident's `notificationNeeded` and
//! `dateDiscovered`. Each applicable rule gives one guidance, with the
//! deadline it leads to and how; the jurisdiction's summary fields (the
//! original API's `notifyAuthority`, its deadline, `urgency`, the counts) are
//! read off those guidances.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};

use super::{
    enums::{NotificationNeeded, NotifyState, Recipient, Urgency, WindowUnit},
    jurisdiction::Impacted,
    notification::{Catalogue, Rule, Window},
};

/// The latest moment a deadline can be: the end of the year 9999, as every
/// time the register keeps.
fn latest() -> DateTime<Utc> {
    "9999-12-31T23:59:59.999999Z".parse().expect("a valid time")
}

/// One rule's verdict for one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guidance {
    pub rule: &'static Rule,
    pub state: NotifyState,
    /// The clock start plus the rule's window, while the duty is open
    /// (required, or still to be decided); none without a clock start, for a
    /// window without a fixed end, or past the year 9999.
    pub deadline: Option<DateTime<Utc>>,
    /// The moment the window is counted from: the incident's `dateDiscovered`.
    pub clock_start: Option<DateTime<Utc>>,
}

impl Guidance {
    pub fn recipient(&self) -> Recipient {
        self.rule.recipient
    }

    pub fn window(&self) -> Window {
        self.rule.window
    }

    /// Whether `dateDiscovered` stands in for the moment the law counts from.
    pub fn clock_start_assumed(&self) -> bool {
        self.rule.clock_start_assumed()
    }

    /// Whether the duty may still be owed: required, or not yet decided.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            NotifyState::NotificationRequired | NotifyState::NeedsMoreInfo
        )
    }
}

/// What the incident says that the rules depend on, in every jurisdiction.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub notification_needed: NotificationNeeded,
    pub date_discovered: Option<DateTime<Utc>>,
}

/// The guidances of every rule that applies in the impacted jurisdiction, in
/// the catalogue's order. A rule applies when it covers the jurisdiction, was
/// in effect on the day the breach was discovered (today, while that is not
/// known), and its threshold is met or the count is not known yet.
pub fn assess(catalogue: &'static Catalogue, impacted: Impacted, facts: Facts, now: DateTime<Utc>) -> Vec<Guidance> {
    let day = facts.date_discovered.unwrap_or(now).date_naive();
    let affected = impacted.affected_individuals;
    catalogue
        .covering(impacted.jurisdiction)
        .filter(|rule| rule.effective <= day)
        .filter(|rule| match (rule.min_affected, affected) {
            (Some(min), Some(count)) => count >= min,
            _ => true,
        })
        .map(|rule| guidance(rule, facts, affected))
        .collect()
}

fn guidance(rule: &'static Rule, facts: Facts, affected: Option<u64>) -> Guidance {
    let count_unknown = rule.min_affected.is_some() && affected.is_none();
    let state = match facts.notification_needed {
        NotificationNeeded::No => NotifyState::NotificationNotRequired,
        NotificationNeeded::Unknown => NotifyState::NeedsMoreInfo,
        NotificationNeeded::Yes if count_unknown || facts.date_discovered.is_none() => NotifyState::NeedsMoreInfo,
        NotificationNeeded::Yes => NotifyState::NotificationRequired,
    };
    let open = state != NotifyState::NotificationNotRequired;
    Guidance {
        rule,
        state,
        deadline: facts
            .date_discovered
            .filter(|_| open)
            .and_then(|start| deadline(start, rule.window)),
        clock_start: facts.date_discovered,
    }
}

/// `start` plus `window`. Calendar days keep the time of day; business days
/// skip Saturdays and Sundays (in UTC: the incident records no time zone),
/// counting from the next day, and keep the time of day too.
pub fn deadline(start: DateTime<Utc>, window: Window) -> Option<DateTime<Utc>> {
    let amount = i64::from(window.amount);
    let end = match window.unit {
        WindowUnit::None => return None,
        WindowUnit::Hours => start.checked_add_signed(Duration::hours(amount))?,
        WindowUnit::CalendarDays => start.checked_add_signed(Duration::days(amount))?,
        WindowUnit::BusinessDays => {
            let mut day = start;
            let mut left = amount;
            while left > 0 {
                day = day.checked_add_signed(Duration::days(1))?;
                if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                    left -= 1;
                }
            }
            day
        }
    };
    Some(end).filter(|end| *end <= latest())
}

/// One recipient's summary: the most pressing state among its guidances
/// (required, then to be decided, then not required), and the earliest
/// deadline of those still open. None when no rule names that recipient.
pub fn summary(guidances: &[Guidance], recipient: Recipient) -> Option<(NotifyState, Option<DateTime<Utc>>)> {
    let mine: Vec<&Guidance> = guidances.iter().filter(|g| g.recipient() == recipient).collect();
    let state = [
        NotifyState::NotificationRequired,
        NotifyState::NeedsMoreInfo,
        NotifyState::NotificationNotRequired,
    ]
    .into_iter()
    .find(|state| mine.iter().any(|g| g.state == *state))?;
    let deadline = mine.iter().filter(|g| g.is_open()).filter_map(|g| g.deadline).min();
    Some((state, deadline))
}

/// How urgent the jurisdiction is: HIGH when an open deadline has passed or
/// falls within 24 hours, MEDIUM within 7 days, LOW later or with no fixed
/// deadline, NONE when no duty is open. A duty still to be decided counts, as
/// its clock runs while the team decides.
pub fn urgency(guidances: &[Guidance], now: DateTime<Utc>) -> Urgency {
    let open: Vec<&Guidance> = guidances.iter().filter(|g| g.is_open()).collect();
    if open.is_empty() {
        return Urgency::None;
    }
    match open.iter().filter_map(|g| g.deadline).min() {
        Some(due) if due <= now + Duration::hours(24) => Urgency::High,
        Some(due) if due <= now + Duration::days(7) => Urgency::Medium,
        _ => Urgency::Low,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{jurisdiction, notification::catalogue};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A jurisdiction with `affected` individuals there.
    fn counted(country: &str, state: Option<&str>, affected: Option<u64>) -> Impacted {
        Impacted {
            jurisdiction: jurisdiction::by_code(country, state).unwrap(),
            affected_individuals: affected,
        }
    }

    fn place(country: &str, state: Option<&str>) -> Impacted {
        counted(country, state, None)
    }

    fn facts(needed: NotificationNeeded, discovered: Option<&str>) -> Facts {
        Facts {
            notification_needed: needed,
            date_discovered: discovered.map(at),
        }
    }

    const NOW: &str = "2026-12-02T12:00:00Z";

    fn assessed(country: &str, state: Option<&str>, facts: Facts) -> Vec<(String, NotifyState, Option<String>)> {
        assessed_in(place(country, state), facts)
    }

    fn assessed_in(impacted: Impacted, facts: Facts) -> Vec<(String, NotifyState, Option<String>)> {
        assess(catalogue(), impacted, facts, at(NOW))
            .into_iter()
            .map(|g| (g.rule.id.clone(), g.state, g.deadline.map(|d| d.to_rfc3339())))
            .collect()
    }

    fn row(id: &str, state: NotifyState, deadline: Option<&str>) -> (String, NotifyState, Option<String>) {
        (id.into(), state, deadline.map(|d| at(d).to_rfc3339()))
    }

    use NotificationNeeded::{No, Unknown, Yes};
    use NotifyState::{NeedsMoreInfo, NotificationNotRequired as NotRequired, NotificationRequired as Required};

    #[test]
    fn the_gdpr_gives_72_hours_to_the_authority_and_no_fixed_window_to_individuals() {
        let yes = facts(Yes, Some("2026-11-30T09:15:00Z"));
        let expected = [
            row("eu-gdpr-art-33", Required, Some("2026-12-03T09:15:00Z")),
            row("eu-gdpr-art-34", Required, None),
        ];
        assert_eq!(assessed("DEU", None, yes), expected);
        // A member state given by its own code, and an EEA state outside the EU.
        assert_eq!(assessed("NOR", None, yes), expected);
        assert_eq!(
            assessed("GBR", None, yes),
            [
                row("uk-gdpr-art-33", Required, Some("2026-12-03T09:15:00Z")),
                row("uk-gdpr-art-34", Required, None),
            ]
        );
    }

    #[test]
    fn unknown_keeps_the_clock_running_and_no_stops_it() {
        let unknown = facts(Unknown, Some("2026-11-30T09:15:00Z"));
        assert_eq!(
            assessed("FRA", None, unknown),
            [
                row("eu-gdpr-art-33", NeedsMoreInfo, Some("2026-12-03T09:15:00Z")),
                row("eu-gdpr-art-34", NeedsMoreInfo, None),
            ]
        );
        let no = facts(No, Some("2026-11-30T09:15:00Z"));
        assert_eq!(
            assessed("FRA", None, no),
            [
                row("eu-gdpr-art-33", NotRequired, None),
                row("eu-gdpr-art-34", NotRequired, None)
            ]
        );
        // Without a discovery date there is no clock: more information is needed.
        assert_eq!(
            assessed("FRA", None, facts(Yes, None)),
            [
                row("eu-gdpr-art-33", NeedsMoreInfo, None),
                row("eu-gdpr-art-34", NeedsMoreInfo, None)
            ]
        );
    }

    #[test]
    fn business_days_skip_the_weekend_and_keep_the_time_of_day() {
        // Thursday 17:00: Friday, Monday, Tuesday.
        let thursday = facts(Yes, Some("2026-12-03T17:00:00Z"));
        assert_eq!(
            assessed("BRA", None, thursday),
            [
                row("br-anpd-res-15-2024-authority", Required, Some("2026-12-08T17:00:00Z")),
                row(
                    "br-anpd-res-15-2024-individuals",
                    Required,
                    Some("2026-12-08T17:00:00Z")
                ),
            ]
        );
        // Discovered on a Saturday: Monday, Tuesday, Wednesday.
        let saturday = deadline(at("2026-12-05T08:00:00Z"), Window::parse("3 business days").unwrap());
        assert_eq!(saturday, Some(at("2026-12-09T08:00:00Z")));
    }

    #[test]
    fn calendar_days_keep_the_time_of_day_and_thresholds_need_a_count() {
        let yes = facts(Yes, Some("2026-11-20T22:30:00Z"));
        assert_eq!(
            assessed("USA", Some("TX"), yes),
            [
                row("us-tx-bcc-521-053-individuals", Required, Some("2027-01-19T22:30:00Z")),
                // At least 250 residents: without a count, to be decided.
                row(
                    "us-tx-bcc-521-053-attorney-general",
                    NeedsMoreInfo,
                    Some("2026-12-20T22:30:00Z")
                ),
            ]
        );
        assert_eq!(
            assessed_in(counted("USA", Some("TX"), Some(249)), yes),
            [row(
                "us-tx-bcc-521-053-individuals",
                Required,
                Some("2027-01-19T22:30:00Z")
            )]
        );
        assert_eq!(assessed_in(counted("USA", Some("TX"), Some(250)), yes)[1].1, Required);
    }

    #[test]
    fn a_jurisdiction_without_rules_and_a_rule_not_yet_in_force_give_nothing() {
        assert!(assessed("USA", Some("WY"), facts(Yes, Some("2026-11-30T00:00:00Z"))).is_empty());
        assert!(assessed("ATA", None, facts(Yes, Some("2026-11-30T00:00:00Z"))).is_empty());
        // India's rule 7 takes effect in May 2027.
        assert!(assessed("IND", None, facts(Yes, Some("2026-11-30T00:00:00Z"))).is_empty());
        assert_eq!(assessed("IND", None, facts(Yes, Some("2027-06-01T00:00:00Z"))).len(), 2);
    }

    #[test]
    fn a_deadline_past_the_year_9999_is_absent_not_an_overflow() {
        let late = facts(Yes, Some("9999-12-30T00:00:00Z"));
        assert_eq!(
            assessed("DEU", None, late),
            [
                row("eu-gdpr-art-33", Required, None),
                row("eu-gdpr-art-34", Required, None)
            ]
        );
        let end = deadline(at("9999-12-31T23:59:59Z"), Window::parse("3 business days").unwrap());
        assert_eq!(end, None);
    }

    #[test]
    fn the_summary_takes_the_most_pressing_state_and_the_earliest_open_deadline() {
        let guidances = assess(
            catalogue(),
            place("USA", Some("CA")),
            facts(Yes, Some("2026-11-30T00:00:00Z")),
            at(NOW),
        );
        assert_eq!(
            summary(&guidances, Recipient::Individuals),
            Some((Required, Some(at("2026-12-30T00:00:00Z"))))
        );
        assert_eq!(
            summary(&guidances, Recipient::Authority),
            Some((NeedsMoreInfo, Some(at("2027-01-14T00:00:00Z"))))
        );
        assert_eq!(urgency(&guidances, at(NOW)), Urgency::Low);
        assert_eq!(urgency(&guidances, at("2026-12-24T00:00:00Z")), Urgency::Medium);
        assert_eq!(urgency(&guidances, at("2026-12-29T12:00:00Z")), Urgency::High);
        assert_eq!(urgency(&guidances, at("2027-02-01T00:00:00Z")), Urgency::High, "passed");
        let none = assess(catalogue(), place("USA", Some("CA")), facts(No, None), at(NOW));
        assert_eq!(urgency(&none, at(NOW)), Urgency::None);
        assert_eq!(summary(&none, Recipient::Authority), Some((NotRequired, None)));
        assert_eq!(summary(&[], Recipient::Authority), None);
    }
}
