//! `services[].scaling`: Application Auto Scaling on a service's desired count, with schedules and
//! an optional CPU target, so scaling goes on while the operator is down.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::patterns::{self, cel_matches};

/// Scale the service between minReplicas and maxReplicas, on schedules and optionally on CPU, with
/// Application Auto Scaling (a scalable target on the service's desired count, one scheduled action
/// per schedule, a target-tracking policy). The spec then no longer owns the desired count: a count
/// inside [minReplicas, maxReplicas] is not drift (a count outside is put back inside), and
/// `replicas` is the count the service is created with. Removing `scaling` deregisters the target,
/// and the spec owns the count again. Scheduled actions and policies not named `dataplatform-...`
/// are someone else's and left alone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("self.minReplicas <= self.maxReplicas")
        .message("spec.services[].scaling.minReplicas must not exceed maxReplicas")
        .field_path(".minReplicas"),
    validation = Rule::new("!has(self.schedules) || self.schedules.all(s, s.replicas >= self.minReplicas && s.replicas <= self.maxReplicas)")
        .message("spec.services[].scaling.schedules[].replicas must lie within [minReplicas, maxReplicas]")
        .field_path(".schedules")
)]
#[serde(rename_all = "camelCase")]
pub struct ScalingSpec {
    #[schemars(range(min = 0, max = 1000))]
    pub min_replicas: i32,

    #[schemars(range(min = 1, max = 1000))]
    pub max_replicas: i32,

    /// Changes at fixed times, e.g. `{name: office-hours, cron: "0 8 * * MON-FRI", timeZone:
    /// Europe/London, replicas: 1}` and `{name: evening, cron: "0 19 * * *", timeZone: Europe/London,
    /// replicas: 0}`. From each run on, the service runs `replicas` tasks (with cpuTargetPercent:
    /// at least `replicas`, at most maxReplicas).
    #[x_kube(validation = Rule::new("self.all(s, self.exists_one(o, o.name == s.name))")
        .message("spec.services[].scaling.schedules[].name must be unique"))]
    #[schemars(length(max = 10))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleSpec>,

    /// Keep the service's average CPU near this percentage (10 to 90) by adding and removing tasks
    /// within the bounds. Absent (default): schedules only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 90))]
    pub cpu_target_percent: Option<i32>,
}

/// One scheduled change of a service's task count.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    /// Lowercase letters, digits and '-', unique per service; the action is named `dataplatform-<name>`.
    #[x_kube(validation = Rule::new(cel_matches(patterns::SCHEDULE_NAME))
        .message("spec.services[].scaling.schedules[].name must be lowercase letters, digits and '-', at most 32"))]
    #[schemars(length(min = 1, max = 32))]
    pub name: String,

    /// When, as five cron fields (minute hour day-of-month month day-of-week) in `timeZone`, e.g.
    /// "0 8 * * MON-FRI". Weekdays by name; day-of-month and day-of-week cannot both be set.
    #[x_kube(validation = Rule::new(cel_matches(patterns::CRON_SCHEDULE))
        .message("spec.services[].scaling.schedules[].cron must be five cron fields such as \"0 8 * * MON-FRI\" (weekdays by name)"))]
    #[schemars(length(min = 9, max = 100))]
    pub cron: String,

    /// IANA time zone the cron fields are read in, e.g. Europe/London (default UTC); daylight saving
    /// follows it.
    #[x_kube(validation = Rule::new(cel_matches(patterns::TIME_ZONE))
        .message("spec.services[].scaling.schedules[].timeZone must be an IANA time zone such as Europe/London"))]
    #[schemars(length(min = 1, max = 64))]
    #[serde(default = "default_time_zone")]
    pub time_zone: String,

    /// Tasks to run from this time on.
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: i32,
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

impl ScheduleSpec {
    /// Application Auto Scaling's six-field form: `cron(0 8 ? * MON-FRI *)`. One of day-of-month and
    /// day-of-week must be `?`.
    pub fn aws_expression(&self) -> String {
        let fields: Vec<&str> = self.cron.split(' ').collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return format!("cron({} *)", self.cron);
        };
        let (day, weekday) = if weekday == "*" { (day, "?") } else { ("?", weekday) };
        format!("cron({minute} {hour} {day} {month} {weekday} *)")
    }
}

/// What status shows of a scaled service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingStatus {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// The next scheduled change, e.g. "office-hours: 1 at 2026-12-02T08:00:00+00:00 (Europe/London)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_scheduled_change: Option<String>,
}
