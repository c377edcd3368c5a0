//! One AWS write of a plan. Each part declares its own writes (an enum in its folder that
//! implements [`Write`]) and how they run; a plan holds them as [`Op`]s, so nothing outside a part
//! lists its writes. `Write::run` matches its own enum, so a write without a runner is a compile
//! error, not a run-time one.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use dataplatform_api::OWNER_TAG;
use dataplatform_aws::{AccountSession, AwsError};
use futures::future::BoxFuture;

use super::made::Made;

/// A part's AWS writes. `Debug` prints the write's name first (`CreateBucket { .. }`): the
/// goldens and logs name a write by it.
pub trait Write: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// `resource`: the resource of the write's action, under which a create keeps the id it makes;
    /// `made`: what the run's earlier writes made (ids, the task-definition revision just registered).
    fn run(
        &self,
        session: &AccountSession,
        resource: &str,
        made: &mut Made,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// For a create that failed with a transient fault (its answer lost, a 5xx): what AWS holds
    /// under the create's name and our owner tag, read once, so the pass goes on with what was
    /// made, or sends the create again when nothing was. [`Lookup::CannotTell`] (the default): the
    /// pass ends as before and the next one looks.
    fn look_after_failure(
        &self,
        _session: &AccountSession,
        _made: &Made,
    ) -> impl Future<Output = Result<Lookup, AwsError>> + Send {
        async { Ok(Lookup::CannotTell) }
    }

    /// For a deletion: what the resource still holds that the operator never deletes (`objects`,
    /// `images`), read just before the write; the resource is then kept. `None`: nothing keeps it.
    fn holds(&self, _session: &AccountSession) -> impl Future<Output = Result<Option<&'static str>, AwsError>> + Send {
        async { Ok(None) }
    }
}

/// What a create's name and owner tag found after the create failed transiently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The create was carried out: what it made (its id or ARN).
    Made(String),
    /// Nothing under the name: the create may be sent again.
    NotMade,
    /// The write cannot look.
    CannotTell,
}

impl Lookup {
    /// What a lookup by name found: the one carrying the owner tag of the create's `tags`, else
    /// nothing of ours. Two of ours under one name: a person must look (the next pass reports it).
    pub fn by_owner(
        found: impl IntoIterator<Item = (String, BTreeMap<String, String>)>,
        tags: &BTreeMap<String, String>,
    ) -> Lookup {
        let Some(owner) = tags.get(OWNER_TAG) else {
            return Lookup::CannotTell;
        };
        let mut ours = found.into_iter().filter(|(_, seen)| seen.get(OWNER_TAG) == Some(owner));
        match (ours.next(), ours.next()) {
            (Some((id, _)), None) => Lookup::Made(id),
            (None, _) => Lookup::NotMade,
            (Some(_), Some(_)) => Lookup::CannotTell,
        }
    }
}

impl Lookup {
    /// What a lookup found when the thing has no owner tag to tell by but only one can exist
    /// (a listener on a port of our balancer): one is what the create made.
    pub fn only(found: impl IntoIterator<Item = String>) -> Lookup {
        let mut found = found.into_iter();
        match (found.next(), found.next()) {
            (Some(id), None) => Lookup::Made(id),
            (None, _) => Lookup::NotMade,
            (Some(_), Some(_)) => Lookup::CannotTell,
        }
    }
}

/// [`Write`] as an object: what a plan holds, whatever part it comes from.
trait AnyWrite: fmt::Debug + Send + Sync {
    fn run<'a>(
        &'a self,
        session: &'a AccountSession,
        resource: &'a str,
        made: &'a mut Made,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
    fn holds<'a>(&'a self, session: &'a AccountSession) -> BoxFuture<'a, Result<Option<&'static str>, AwsError>>;
    fn look_after_failure<'a>(
        &'a self,
        session: &'a AccountSession,
        made: &'a Made,
    ) -> BoxFuture<'a, Result<Lookup, AwsError>>;
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn AnyWrite) -> bool;
}

impl<W: Write> AnyWrite for W {
    fn run<'a>(
        &'a self,
        session: &'a AccountSession,
        resource: &'a str,
        made: &'a mut Made,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(Write::run(self, session, resource, made))
    }

    fn holds<'a>(&'a self, session: &'a AccountSession) -> BoxFuture<'a, Result<Option<&'static str>, AwsError>> {
        Box::pin(Write::holds(self, session))
    }

    fn look_after_failure<'a>(
        &'a self,
        session: &'a AccountSession,
        made: &'a Made,
    ) -> BoxFuture<'a, Result<Lookup, AwsError>> {
        Box::pin(Write::look_after_failure(self, session, made))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same(&self, other: &dyn AnyWrite) -> bool {
        other.as_any().downcast_ref::<W>() == Some(self)
    }
}

/// One AWS write, of any part.
#[derive(Clone)]
pub struct Op(Arc<dyn AnyWrite>);

impl<W: Write> From<W> for Op {
    fn from(write: W) -> Self {
        Op(Arc::new(write))
    }
}

impl Op {
    pub async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        self.0.run(session, resource, made).await
    }

    /// See [`Write::holds`].
    pub async fn holds(&self, session: &AccountSession) -> Result<Option<&'static str>, AwsError> {
        self.0.holds(session).await
    }

    /// See [`Write::look_after_failure`].
    pub async fn look_after_failure(&self, session: &AccountSession, made: &Made) -> Result<Lookup, AwsError> {
        self.0.look_after_failure(session, made).await
    }

    /// The write as its part's type, when it is one.
    pub fn get<W: Write>(&self) -> Option<&W> {
        self.0.as_any().downcast_ref()
    }

    /// The write's name (`CreateBucket`), as the goldens and logs print it.
    pub fn name(&self) -> String {
        let debug = format!("{:?}", self.0);
        debug.split([' ', '{', '(']).next().unwrap_or_default().to_owned()
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(&*other.0)
    }
}

/// Each of `writes` as an [`Op`].
pub fn ops<W: Into<Op>>(writes: impl IntoIterator<Item = W>) -> Vec<Op> {
    writes.into_iter().map(Into::into).collect()
}
