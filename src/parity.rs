//! Parity with Genesys, sans IO: one execution's trace as Genesys's test endpoint answered it
//! (`TestExecutionResult.operations`) against nodectl's own for the same node and input, step by
//! step. The resolved request (steps 5–7), the translation (9) and the output (10) are compared by
//! value; every other step by outcome (ran, succeeded or failed). What may hold a secret is compared
//! but never shown ([`SecretParts`]). `nodectl parity` (ops::parity) gathers both traces.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::genesys::dto::TestExecutionOperationResult;
use crate::runtime::{Operation, SecretParts, Step};

/// What a value looks like in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum Shown {
    /// The step succeeded with this result.
    Value(Value),
    /// The step succeeded; its result may hold a secret and is not shown.
    Hidden,
    /// The step failed with this message.
    Failed(String),
    /// The step did not run (an earlier one failed).
    NotRun,
}

/// The verdict on one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum Verdict {
    Agrees,
    Differs { nodectl: Shown, genesys: Shown },
}

/// One step of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepComparison {
    pub step: u8,
    pub name: &'static str,
    /// Whether the step's result was compared by value (steps 5, 6, 7, 9, 10), not only by outcome.
    pub by_value: bool,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The comparison of one execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Every step either side ran, in order.
    pub steps: Vec<StepComparison>,
}

impl Comparison {
    pub fn agrees(&self) -> bool {
        self.steps.iter().all(|s| s.verdict == Verdict::Agrees)
    }

    /// The steps that differ.
    pub fn differences(&self) -> impl Iterator<Item = &StepComparison> {
        self.steps.iter().filter(|s| s.verdict != Verdict::Agrees)
    }
}

/// The steps whose results are compared by value: the resolved request, the translation, the
/// output. Step 8's result is not: nodectl's side replays the fixture's recorded answer, and its
/// result is nodectl's account of the attempts.
const BY_VALUE: [Step; 5] = [
    Step::UrlTemplate,
    Step::HeaderTemplates,
    Step::BodyTemplate,
    Step::TranslationMap,
    Step::OutputTransformation,
];

/// Compares nodectl's trace with Genesys's for one execution of a node whose request may hold
/// the secrets `secrets` says.
pub fn compare(
    nodectl: &[Operation],
    genesys: &[TestExecutionOperationResult],
    secrets: &SecretParts,
) -> Comparison {
    let steps = Step::ALL
        .into_iter()
        .filter_map(|step| {
            // A step may appear twice (a new grant after a 401): its last operation is its outcome.
            let ours = nodectl.iter().rfind(|o| o.step == step.number());
            let theirs = genesys.iter().rfind(|o| o.step == i64::from(step.number()));
            if ours.is_none() && theirs.is_none() {
                return None;
            }
            let by_value = BY_VALUE.contains(&step);
            let ours = ours.map_or(Side::NotRun, |o| {
                Side::of(o.success, o.result.as_ref(), || {
                    o.error
                        .as_ref()
                        .map_or_else(String::new, |e| e.specific_message().to_string())
                })
            });
            let theirs = theirs.map_or(Side::NotRun, |o| {
                Side::of(o.success, o.result.as_ref(), || {
                    o.error
                        .as_ref()
                        .map_or_else(String::new, |e| e.specific_message().to_string())
                })
            });
            Some(StepComparison {
                step: step.number(),
                name: step.name(),
                by_value,
                verdict: judge(step, by_value, ours, theirs, secrets),
            })
        })
        .collect();
    Comparison { steps }
}

/// One side's outcome of a step.
enum Side {
    Succeeded(Value),
    Failed(String),
    NotRun,
}

impl Side {
    fn of(success: bool, result: Option<&Value>, message: impl FnOnce() -> String) -> Side {
        if success {
            Side::Succeeded(result.cloned().unwrap_or(Value::Null))
        } else {
            Side::Failed(message())
        }
    }
}

fn judge(step: Step, by_value: bool, ours: Side, theirs: Side, secrets: &SecretParts) -> Verdict {
    match (ours, theirs) {
        (Side::Succeeded(ours), Side::Succeeded(theirs)) => {
            if !by_value {
                return Verdict::Agrees;
            }
            compare_values(step, &ours, &theirs, secrets)
        }
        // Both failed: the outcome agrees; the wording of the failure is Genesys's own (docs/runtime.md).
        (Side::Failed(_), Side::Failed(_)) | (Side::NotRun, Side::NotRun) => Verdict::Agrees,
        (ours, theirs) => Verdict::Differs {
            nodectl: shown_outcome(step, ours, secrets),
            genesys: shown_outcome(step, theirs, secrets),
        },
    }
}

/// A side whose outcome differs from the other's, as the report shows it.
fn shown_outcome(step: Step, side: Side, secrets: &SecretParts) -> Shown {
    match side {
        Side::Succeeded(_) if hides_whole(step, secrets) => Shown::Hidden,
        Side::Succeeded(value) if step == Step::HeaderTemplates => {
            Shown::Value(masked_headers(&value, secrets))
        }
        Side::Succeeded(value) if BY_VALUE.contains(&step) => Shown::Value(value),
        // Outside the compared steps, the result (tokens, attempts) is not the point.
        Side::Succeeded(_) => Shown::Value(Value::String("succeeded".to_string())),
        // A failure's message may quote a secret value only through the runtime's redaction
        // (nodectl's) or from Genesys: a secure node's messages are not shown.
        Side::Failed(_) if secrets.secure => Shown::Failed("(secure node: not shown)".to_string()),
        Side::Failed(message) => Shown::Failed(message),
        Side::NotRun => Shown::NotRun,
    }
}

/// Whether the whole result of `step` may hold a secret.
fn hides_whole(step: Step, secrets: &SecretParts) -> bool {
    match step {
        Step::UrlTemplate => secrets.url,
        Step::BodyTemplate => secrets.body,
        Step::HeaderTemplates => false,
        _ => secrets.secure,
    }
}

fn compare_values(step: Step, ours: &Value, theirs: &Value, secrets: &SecretParts) -> Verdict {
    let agrees = if step == Step::HeaderTemplates {
        header_map(ours) == header_map(theirs)
    } else {
        ours == theirs
    };
    if agrees {
        return Verdict::Agrees;
    }
    let show = |value: &Value| {
        if hides_whole(step, secrets) {
            Shown::Hidden
        } else if step == Step::HeaderTemplates {
            Shown::Value(masked_headers(value, secrets))
        } else {
            Shown::Value(value.clone())
        }
    };
    Verdict::Differs {
        nodectl: show(ours),
        genesys: show(theirs),
    }
}

/// Headers by lower-case name (HTTP header names are case-insensitive).
fn header_map(value: &Value) -> Option<BTreeMap<String, &Value>> {
    let object = value.as_object()?;
    Some(
        object
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect(),
    )
}

/// The headers with the values of those that may hold a secret replaced by a marker.
fn masked_headers(value: &Value, secrets: &SecretParts) -> Value {
    let Some(object) = value.as_object() else {
        return if secrets.secure {
            Value::String(HIDDEN.to_string())
        } else {
            value.clone()
        };
    };
    let masked: Map<String, Value> = object
        .iter()
        .map(|(name, value)| {
            let value = if secrets.header(name) {
                Value::String(HIDDEN.to_string())
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect();
    Value::Object(masked)
}

/// What stands in for a value that may hold a secret.
pub const HIDDEN: &str = "(may hold a secret: not shown)";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours(step: Step, result: Value) -> Operation {
        Operation {
            step: step.number(),
            name: step.name(),
            success: true,
            result: Some(result),
            error: None,
        }
    }

    fn theirs(step: Step, result: Value) -> TestExecutionOperationResult {
        TestExecutionOperationResult {
            step: i64::from(step.number()),
            name: step.name().to_string(),
            success: true,
            result: Some(result),
            error: None,
        }
    }

    #[test]
    fn equal_traces_agree_and_header_case_does_not_matter() {
        let comparison = compare(
            &[
                ours(Step::UrlTemplate, json!("https://x.test/a")),
                ours(Step::HeaderTemplates, json!({"Accept": "application/json"})),
                ours(Step::Execute, json!([{"attempt": 1}])),
            ],
            &[
                theirs(Step::UrlTemplate, json!("https://x.test/a")),
                theirs(Step::HeaderTemplates, json!({"accept": "application/json"})),
                theirs(Step::Execute, json!({"anything": "else"})),
            ],
            &SecretParts::default(),
        );
        assert!(comparison.agrees(), "{comparison:?}");
        assert_eq!(comparison.steps.len(), 3);
    }

    #[test]
    fn a_differing_url_is_shown_unless_it_reads_secrets() {
        let nodectl = [ours(Step::UrlTemplate, json!("https://x.test/a"))];
        let genesys = [theirs(Step::UrlTemplate, json!("https://x.test/b"))];
        let plain = compare(&nodectl, &genesys, &SecretParts::default());
        assert_eq!(
            plain.differences().next().map(|s| &s.verdict),
            Some(&Verdict::Differs {
                nodectl: Shown::Value(json!("https://x.test/a")),
                genesys: Shown::Value(json!("https://x.test/b")),
            })
        );
        let secret = SecretParts {
            url: true,
            ..SecretParts::default()
        };
        let hidden = compare(&nodectl, &genesys, &secret);
        assert_eq!(
            hidden.differences().next().map(|s| &s.verdict),
            Some(&Verdict::Differs {
                nodectl: Shown::Hidden,
                genesys: Shown::Hidden,
            })
        );
    }

    #[test]
    fn secret_headers_are_masked_and_a_failed_step_differs_from_a_success() {
        let secrets = SecretParts {
            headers: ["x-key".to_string()].into_iter().collect(),
            ..SecretParts::default()
        };
        let comparison = compare(
            &[ours(
                Step::HeaderTemplates,
                json!({"X-Key": "s3cret", "Authorization": "Bearer t", "A": "1"}),
            )],
            &[theirs(
                Step::HeaderTemplates,
                json!({"X-Key": "other", "Authorization": "Bearer u", "A": "1"}),
            )],
            &secrets,
        );
        let text = serde_json::to_string(&comparison).unwrap_or_default();
        assert!(
            !text.contains("s3cret") && !text.contains("Bearer"),
            "{text}"
        );
        assert!(!comparison.agrees());

        let mut failed = theirs(Step::TranslationMap, Value::Null);
        failed.success = false;
        let comparison = compare(
            &[ours(Step::TranslationMap, json!({"name": "\"Ann\""}))],
            &[failed],
            &SecretParts::default(),
        );
        assert_eq!(
            comparison.differences().next().map(|s| &s.verdict),
            Some(&Verdict::Differs {
                nodectl: Shown::Value(json!({"name": "\"Ann\""})),
                genesys: Shown::Failed(String::new()),
            })
        );
    }

    #[test]
    fn a_step_only_one_side_ran_differs() {
        let comparison = compare(
            &[ours(Step::OutputTransformation, json!({"a": 1}))],
            &[],
            &SecretParts::default(),
        );
        assert_eq!(
            comparison.differences().next().map(|s| &s.verdict),
            Some(&Verdict::Differs {
                nodectl: Shown::Value(json!({"a": 1})),
                genesys: Shown::NotRun,
            })
        );
    }
}
