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

/// Tag key beside the owner tag: the `spec.tags` keys the operator put on the resource, sorted and
/// joined by spaces (see [`managed_tags_value`]). A key that leaves `spec.tags` is removed from the
/// resource only when this record lists it, so tags someone else set are never touched.
pub const MANAGED_TAGS_TAG: &str = "dataplatform.io/managed-tags";
/// The longest value AWS takes for a tag: the record of managed keys must fit in it.
pub const TAG_VALUE_LIMIT: usize = 256;

/// The managed-tags record for these `spec.tags` keys, or [`NO_MANAGED_TAGS`] when there are none:
/// a record that says "none" still lets a later pass remove keys added before it.
pub fn managed_tags_value<'a>(keys: impl IntoIterator<Item = &'a String>) -> String {
    let mut keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
    keys.sort_unstable();
    match keys.is_empty() {
        true => NO_MANAGED_TAGS.to_owned(),
        false => keys.join(" "),
    }
}

/// The record of no keys. Not empty: moto reads an empty S3 tag value back as "None", and a value
/// is clearer to a person reading the tags.
pub const NO_MANAGED_TAGS: &str = "-";

/// The keys a managed-tags record lists.
pub fn managed_tag_keys(record: &str) -> impl Iterator<Item = &str> {
    record
        .split(' ')
        .filter(|key| !key.is_empty() && *key != NO_MANAGED_TAGS)
}

/// The owner tag's value: `<namespace>/<name>` of the object that manages the resource.
pub fn owner_tag_value(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Whether an annotation is set to the literal `"true"` (any other value, or none, is false).
pub fn annotation_is_true(annotations: Option<&std::collections::BTreeMap<String, String>>, key: &str) -> bool {
    annotations.and_then(|a| a.get(key)).is_some_and(|v| v == "true")
}

/// Annotations under our prefix that the operator reads; any other is refused (a misspelt one
/// would be ignored silently, e.g. `dataplatform.io/pause` for `paused`).
pub const KNOWN_ANNOTATIONS: [&str; 3] = [PAUSED_ANNOTATION, ADOPT_ANNOTATION, RESYNC_INTERVAL_ANNOTATION];

/// The annotations whose value is a switch: `"true"` or `"false"`.
const SWITCH_ANNOTATIONS: [&str; 2] = [PAUSED_ANNOTATION, ADOPT_ANNOTATION];

const OUR_PREFIX: &str = "dataplatform.io/";

/// What is wrong with the object's annotations under `dataplatform.io/`: keys the operator does not
/// know (naming the known one meant, when one is close), and switches that are neither `"true"`
/// nor `"false"`. Checked before any AWS call, by the CLI and the controller alike.
pub fn annotation_problems(annotations: &std::collections::BTreeMap<String, String>) -> Vec<crate::SpecProblem> {
    let mut problems = Vec::new();
    for (key, value) in annotations.iter().filter(|(k, _)| k.starts_with(OUR_PREFIX)) {
        let field = format!("metadata.annotations[{key}]");
        if !KNOWN_ANNOTATIONS.contains(&key.as_str()) {
            let meant = closest_known(key)
                .map(|known| format!("did you mean {known}? "))
                .unwrap_or_default();
            problems.push(crate::SpecProblem {
                field,
                message: format!(
                    "{key} is not an annotation the operator reads, so it would be ignored; {meant}the operator reads {}",
                    KNOWN_ANNOTATIONS.join(", ")
                ),
            });
        } else if SWITCH_ANNOTATIONS.contains(&key.as_str()) && value != "true" && value != "false" {
            problems.push(crate::SpecProblem {
                field,
                message: format!("{value:?} is neither \"true\" nor \"false\""),
            });
        }
    }
    problems
}

/// [`annotation_problems`] as the refusal a pass returns before any AWS call.
pub fn check_annotations(annotations: &std::collections::BTreeMap<String, String>) -> Result<(), crate::InvalidSpec> {
    let problems = annotation_problems(annotations);
    match problems.is_empty() {
        true => Ok(()),
        false => Err(crate::InvalidSpec { problems }),
    }
}

/// The known annotation a misspelt key most likely meant: within a third of its length in edits.
fn closest_known(key: &str) -> Option<&'static str> {
    KNOWN_ANNOTATIONS
        .into_iter()
        .map(|known| (strsim::levenshtein(key, known), known))
        .filter(|(distance, known)| *distance <= known.len().saturating_sub(OUR_PREFIX.len()) / 3 + 1)
        .min()
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(pairs: &[(&str, &str)]) -> Vec<crate::SpecProblem> {
        annotation_problems(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_misspelt_annotation_of_ours_is_refused_naming_the_one_meant() {
        let found = problems(&[("dataplatform.io/pause", "true")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "metadata.annotations[dataplatform.io/pause]");
        assert!(
            found[0].message.contains("did you mean dataplatform.io/paused?"),
            "{}",
            found[0].message
        );
        let far = problems(&[("dataplatform.io/colour", "blue")]);
        assert!(!far[0].message.contains("did you mean"), "{}", far[0].message);
        assert!(
            far[0].message.contains("dataplatform.io/resync-interval"),
            "{}",
            far[0].message
        );
    }

    #[test]
    fn known_annotations_and_others_prefixes_pass_and_a_switch_must_be_true_or_false() {
        assert!(
            problems(&[
                ("dataplatform.io/paused", "false"),
                ("dataplatform.io/adopt", "true"),
                ("dataplatform.io/resync-interval", "10m"),
                ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
                ("example.com/dataplatform.io/x", "y"),
            ])
            .is_empty()
        );
        let found = problems(&[("dataplatform.io/paused", "yes")]);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("neither \"true\" nor \"false\""));
    }
}
