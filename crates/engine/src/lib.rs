//! Observe, plan, act: for one account, the desired state from its spec, what AWS holds, the diff
//! between them as a plan of actions, the executor that carries it out, and the status it reports.
//! Each part of an account is one module under [`parts`] behind the [`parts::contract::AccountPart`] contract;
//! the account-wide code (`reconcile`, `status`, `deletion`) goes through them in one order.
//! Knows nothing of kube-runtime: the controller and the CLI both drive it through [`Engine`].

pub mod account;
pub mod deletion;
pub mod error;
pub mod execute;
pub mod grant;
pub mod parts;
pub(crate) mod pass;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod status;
pub mod vocabulary;
pub mod wait;

pub use account::{AccountContext, AccountObject, ObjectId};
pub use error::ReconcileError;
pub use execute::ExecuteOptions;
pub use grant::{GrantAccounts, GrantObject, GrantPlan, Revoked};
pub use parts::DesiredAccount;
pub use plan::{Action, ActionKind, FieldChange, Part, Plan};
pub use reconcile::{AccountPlan, Engine, Reconciled};
pub use wait::{WaitClock, WaitKind};
