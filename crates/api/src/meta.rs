//! Well-known keys: annotations users set, the finalizer we hold, and the tag that marks AWS
//! resources as ours.

/// `"true"`: make no AWS call for this object; Synced reports `Paused`.
pub const PAUSED_ANNOTATION: &str = "dataplatform.io/paused";
/// `"true"`: adopt (tag) resources that exist under our deterministic names without our owner tag.
pub const ADOPT_ANNOTATION: &str = "dataplatform.io/adopt";
/// How often the controller re-reads AWS for this object when nothing changes, e.g. `"10m"`
/// (s, m or h); the `run --resync-interval` flag sets the default.
pub const RESYNC_INTERVAL_ANNOTATION: &str = "dataplatform.io/resync-interval";
/// Held on both kinds until cleanup in AWS has finished.
pub const CLEANUP_FINALIZER: &str = "dataplatform.io/cleanup";
/// Tag key on every AWS resource the operator creates; the value is [`owner_tag_value`].
pub const OWNER_TAG: &str = "dataplatform.io/owner";

/// The owner tag's value: `<namespace>/<name>` of the object that manages the resource.
pub fn owner_tag_value(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Whether an annotation is set to the literal `"true"` (any other value, or none, is false).
pub fn annotation_is_true(annotations: Option<&std::collections::BTreeMap<String, String>>, key: &str) -> bool {
    annotations.and_then(|a| a.get(key)).is_some_and(|v| v == "true")
}
