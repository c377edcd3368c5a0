//! Observe, plan, act: desired state per part, the field-by-field diff, `Plan`/`Action`, the
//! executor, grant merging and status assembly. Depends on `dataplatform-api` and
//! `dataplatform-aws`, never on kube-runtime, so the CLI, the controller and the tests run the same
//! code. Filled by the account-engine issue.
