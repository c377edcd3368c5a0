//! A plan: the actions that bring AWS to the spec, each with the fields it changes (for people) and
//! the AWS writes that carry it out (for the executor).

use std::fmt;

mod made;
mod merge;
mod op;
mod refs;

pub use made::Made;
pub use merge::MergePolicyStatements;
pub use op::{Lookup, Op, Write, ops};
pub use refs::{Ec2Ref, PlannedEndpoint, PlannedPeer, PlannedRule, SharedDocument, StatementOwner, TaskRevision};

/// Writes [`Part`] and its names from one list.
macro_rules! part_names {
    ($($(#[$doc:meta])* $part:ident => $name:literal),* $(,)?) => {
        /// What an action belongs to: a part of an account (in the order of `parts`), or a grant.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Part {
            $($(#[$doc])* $part,)*
        }

        impl Part {
            /// How plans, the CLI's table and metrics name the part.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Part::$part => $name,)*
                }
            }
        }
    };
}

part_names! {
    Network => "network",
    BucketKey => "bucket-key",
    Storage => "storage",
    Identity => "identity",
    Logging => "logging",
    Database => "database",
    Certificate => "certificate",
    UserPool => "user-pool",
    LoadBalancer => "load-balancer",
    Dns => "dns",
    Discovery => "discovery",
    Compute => "compute",
    Scaling => "scaling",
    Registry => "registry",
    /// A SharedBucketGrant's statements, KMS grants and grantee policy.
    Grant => "grant",
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Create,
    Update,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl FieldChange {
    pub fn new(field: impl Into<String>, from: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub part: Part,
    /// Service and role of the resource, e.g. `s3:datastore`, `rds:cluster`.
    pub resource: String,
    /// Its AWS name.
    pub name: String,
    pub kind: ActionKind,
    pub changes: Vec<FieldChange>,
    pub ops: Vec<Op>,
}

impl Action {
    /// `s3:datastore.versioning` for each field an update puts right.
    pub fn changed_fields(&self) -> impl Iterator<Item = String> + '_ {
        self.changes
            .iter()
            .filter(move |_| self.kind == ActionKind::Update)
            .map(|c| format!("{}.{}", self.resource, c.field))
    }
}

impl Action {
    pub fn create(
        part: Part,
        resource: impl Into<String>,
        name: impl Into<String>,
        writes: impl IntoIterator<Item = impl Into<Op>>,
    ) -> Self {
        Self::without_field_changes(part, resource, name, ActionKind::Create, ops(writes))
    }

    pub fn delete(
        part: Part,
        resource: impl Into<String>,
        name: impl Into<String>,
        writes: impl IntoIterator<Item = impl Into<Op>>,
    ) -> Self {
        Self::without_field_changes(part, resource, name, ActionKind::Delete, ops(writes))
    }

    fn without_field_changes(
        part: Part,
        resource: impl Into<String>,
        name: impl Into<String>,
        kind: ActionKind,
        ops: Vec<Op>,
    ) -> Self {
        Self {
            part,
            resource: resource.into(),
            name: name.into(),
            kind,
            changes: vec![],
            ops,
        }
    }

    /// One line: what happens to which resource (the fields, for an update).
    pub fn summary(&self) -> String {
        match self.kind {
            ActionKind::Update => {
                let fields: Vec<&str> = self.changes.iter().map(|c| c.field.as_str()).collect();
                format!("~ update {} ({}): {}", self.label(), self.name, fields.join(", "))
            }
            _ => self.to_string(),
        }
    }

    /// How people read the resource: `service daemon` for an ECS service (`ecs:daemon`), the
    /// resource id otherwise.
    pub fn label(&self) -> String {
        if let Some(service) = self
            .resource
            .strip_prefix("scaling:")
            .filter(|_| self.part == Part::Scaling)
        {
            return format!("service {service} scaling");
        }
        match self.resource.strip_prefix("ecs:") {
            Some(service) if self.part == Part::Compute && !service.contains(['/', ':']) && service != "cluster" => {
                format!("service {service}")
            }
            _ => self.resource.clone(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ActionKind::Create => write!(f, "+ create {} ({})", self.label(), self.name),
            ActionKind::Delete => write!(f, "- delete {} ({})", self.label(), self.name),
            ActionKind::Update => {
                let label = self.label();
                for (i, change) in self.changes.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "~ update {label}: {} {} -> {}", change.field, change.from, change.to)?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn writes(&self) -> usize {
        self.actions.iter().map(|a| a.ops.len()).sum()
    }
}

impl Plan {
    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.kind == kind).count()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for action in &self.actions {
            writeln!(f, "{action}")?;
        }
        Ok(())
    }
}
