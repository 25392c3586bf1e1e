//! What an incident owes to whom, and by when, in one jurisdiction: the
//! catalogue's rules applied to the incident's `notificationNeeded` and
//! `dateDiscovered`. Each applicable rule gives one guidance, with the
//! deadline it leads to and how; the jurisdiction's summary fields (the
//! original API's `notifyAuthority`, its deadline, `urgency`, the counts) are
//! read off those guidances. A notice recorded for a recipient addresses its
//! guidances there.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};

use super::{
    enums::{NotificationNeeded, NotifyState, Recipient, Urgency, WindowUnit},
    incident::Incident,
    jurisdiction::Impacted,
    notice::Notice,
    notification::{self, Catalogue, Rule, Window},
};

/// The latest moment a deadline can be: the end of the year 9999, as every
/// time the register keeps.
pub fn latest() -> DateTime<Utc> {
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
    /// The notification recorded as sent to this rule's recipient there.
    pub notice: Option<Notice>,
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

    /// Whether the duty may be owed: required, or not yet decided.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            NotifyState::NotificationRequired | NotifyState::NeedsMoreInfo
        )
    }

    /// Whether the duty is open and nobody has been notified yet: what
    /// urgency and the search for what is due look at.
    pub fn is_due(&self) -> bool {
        self.is_open() && self.notice.is_none()
    }

    /// Whether the recorded notification came after the deadline; none while
    /// nothing is recorded or there is no deadline to be late for.
    pub fn late(&self) -> Option<bool> {
        Some(self.notice.as_ref()?.notified_at > self.deadline?)
    }
}

/// What the incident says that the rules depend on, in every jurisdiction.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub notification_needed: NotificationNeeded,
    pub date_discovered: Option<DateTime<Utc>>,
    /// When the incident was last written: the day a rule must be in effect
    /// by while `dateDiscovered` is not known. Guidance depends on what is
    /// stored only, so every read of a revision shows the same.
    pub written_at: DateTime<Utc>,
    pub notices: &'a [Notice],
}

impl<'a> Facts<'a> {
    pub fn of(incident: &'a Incident) -> Self {
        Self {
            notification_needed: incident.notification_needed,
            date_discovered: incident.date_discovered,
            written_at: incident.updated_at,
            notices: &incident.notices,
        }
    }
}

/// The guidances of every rule that applies in the impacted jurisdiction, in
/// the catalogue's order. A rule applies when it covers the jurisdiction, was
/// in effect on the day the breach was discovered (the day of the write,
/// while that is not known), and its threshold is met or the count is not
/// known yet.
pub fn assess(catalogue: &'static Catalogue, impacted: Impacted, facts: Facts<'_>) -> Vec<Guidance> {
    let day = facts.date_discovered.unwrap_or(facts.written_at).date_naive();
    let affected = impacted.affected_individuals;
    catalogue
        .covering(impacted.jurisdiction)
        .filter(|rule| rule.effective <= day)
        .filter(|rule| match (rule.min_affected, affected) {
            (Some(min), Some(count)) => count >= min,
            _ => true,
        })
        .map(|rule| {
            let notice = facts
                .notices
                .iter()
                .find(|n| n.jurisdiction.id == impacted.jurisdiction.id && n.recipient == rule.recipient);
            guidance(rule, facts, affected, notice.cloned())
        })
        .collect()
}

/// The deadlines of an incident still due (open, nobody notified yet), in
/// every impacted jurisdiction, as the catalogue has them: what a search for
/// what is due looks in, stored with every write.
pub fn due(incident: &Incident) -> Vec<DateTime<Utc>> {
    let facts = Facts::of(incident);
    incident
        .jurisdictions
        .iter()
        .flat_map(|impacted| assess(notification::catalogue(), *impacted, facts))
        .filter(Guidance::is_due)
        .filter_map(|g| g.deadline)
        .collect()
}

/// What an incident sorts by in `notificationDeadline` order: its earliest
/// deadline still due, and the latest time the register keeps when none is,
/// so that those come last (a deadline at that very moment sorts with them,
/// which is where it belongs).
pub fn sort_key(incident: &Incident) -> DateTime<Utc> {
    due(incident).into_iter().min().unwrap_or_else(latest)
}

fn guidance(rule: &'static Rule, facts: Facts<'_>, affected: Option<u64>, notice: Option<Notice>) -> Guidance {
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
        notice,
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

/// How urgent the jurisdiction is: HIGH when a deadline still due has passed
/// or falls within 24 hours, MEDIUM within 7 days, LOW later or with no fixed
/// deadline, NONE when nothing is due. A duty still to be decided counts, as
/// its clock runs while the team decides; one notified does not.
pub fn urgency(guidances: &[Guidance], now: DateTime<Utc>) -> Urgency {
    let open: Vec<&Guidance> = guidances.iter().filter(|g| g.is_due()).collect();
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

    fn facts(needed: NotificationNeeded, discovered: Option<&str>) -> Facts<'static> {
        Facts {
            notification_needed: needed,
            date_discovered: discovered.map(at),
            written_at: at(NOW),
            notices: &[],
        }
    }

    const NOW: &str = "2026-12-02T12:00:00Z";

    fn assessed(country: &str, state: Option<&str>, facts: Facts) -> Vec<(String, NotifyState, Option<String>)> {
        assessed_in(place(country, state), facts)
    }

    fn assessed_in(impacted: Impacted, facts: Facts) -> Vec<(String, NotifyState, Option<String>)> {
        assess(catalogue(), impacted, facts)
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
        let none = assess(catalogue(), place("USA", Some("CA")), facts(No, None));
        assert_eq!(urgency(&none, at(NOW)), Urgency::None);
        assert_eq!(summary(&none, Recipient::Authority), Some((NotRequired, None)));
        assert_eq!(summary(&[], Recipient::Authority), None);
    }

    #[test]
    fn a_notice_addresses_its_recipient_and_is_late_after_the_deadline() {
        let ca = jurisdiction::by_code("USA", Some("CA")).unwrap();
        let notices = [Notice {
            jurisdiction: ca,
            recipient: Recipient::Individuals,
            notified_at: at("2026-12-31T00:00:00Z"),
            reference: None,
        }];
        let yes = Facts {
            notices: &notices,
            ..facts(Yes, Some("2026-11-30T00:00:00Z"))
        };
        let guidances = assess(catalogue(), place("USA", Some("CA")), yes);
        let individuals = guidances
            .iter()
            .find(|g| g.recipient() == Recipient::Individuals)
            .unwrap();
        assert_eq!(individuals.late(), Some(true), "a day after 2026-12-30");
        assert!(individuals.is_open() && !individuals.is_due());
        // The attorney general's notice (2027-01-14) is still due, and only it
        // counts now: the individuals' deadline a day away made it HIGH.
        let authority = guidances
            .iter()
            .find(|g| g.recipient() == Recipient::Authority)
            .unwrap();
        assert_eq!(authority.late(), None);
        assert_eq!(urgency(&guidances, at("2026-12-29T12:00:00Z")), Urgency::Low);
        // Another jurisdiction's notice addresses nothing here.
        let elsewhere = assess(catalogue(), place("USA", Some("TX")), yes);
        assert!(elsewhere.iter().all(|g| g.notice.is_none()));
        // With NO the record stays, and the duty is not required.
        let no = Facts {
            notices: &notices,
            ..facts(No, Some("2026-11-30T00:00:00Z"))
        };
        let guidances = assess(catalogue(), place("USA", Some("CA")), no);
        let individuals = guidances
            .iter()
            .find(|g| g.recipient() == Recipient::Individuals)
            .unwrap();
        assert_eq!(individuals.state, NotRequired);
        assert_eq!(
            individuals.notice.as_ref().map(|n| n.notified_at),
            Some(at("2026-12-31T00:00:00Z"))
        );
        assert_eq!(individuals.late(), None, "no deadline to be late for");
    }
}
