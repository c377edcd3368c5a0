//! ECR repositories in the organisation account: scan on push, tag mutability, tags, and the
//! repository policy (whose statements are shared with people, like a bucket policy).

use std::collections::BTreeMap;

use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Tag};

use crate::error::{AwsError, optional};
use crate::permissions as op;
use crate::quotas::ECR_REPOSITORY_POLICY;
use crate::session::AccountSession;
use crate::tags::TagUpdate;

const SERVICE: &str = "ecr";

#[derive(Clone, Debug, PartialEq)]
pub struct RepositoryObservation {
    pub name: String,
    pub arn: String,
    /// What `docker push` names, e.g. 999999999999.dkr.ecr.eu-west-2.amazonaws.com/dagster.
    pub uri: String,
    pub scan_on_push: bool,
    pub immutable_tags: bool,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<String>,
}

pub struct Ecr<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn ecr(&self) -> Ecr<'_> {
        Ecr { session: self }
    }
}

impl Ecr<'_> {
    /// The named repositories that exist, with their tags and policy. One listing finds them all
    /// (DescribeRepositories by name fails as a whole when any one is missing).
    /// The repositories named `names` (with tags and policy), and, when `owner` is given, every
    /// other repository carrying that owner tag (with tags only): ones that left the spec.
    pub async fn observe_repositories(
        &self,
        names: &[String],
        owner: Option<(&str, &str)>,
    ) -> Result<Vec<RepositoryObservation>, AwsError> {
        if names.is_empty() && owner.is_none() {
            return Ok(vec![]);
        }
        let ecr = self.session.ecr_client();
        let mut listed = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::ECR_DESCRIBE_REPOSITORIES, || {
                    ecr.describe_repositories().set_next_token(next.clone()).send()
                })
                .await?;
            listed.extend(page.repositories().iter().cloned());
            match page.next_token() {
                Some(token) => next = Some(token.to_owned()),
                None => break,
            }
        }
        let mut found = Vec::with_capacity(listed.len());
        for repository in listed {
            let name = repository.repository_name().unwrap_or_default().to_owned();
            let wanted = names.contains(&name);
            if !wanted && owner.is_none() {
                continue;
            }
            let arn = repository.repository_arn().unwrap_or_default().to_owned();
            let tags: BTreeMap<String, String> = self
                .session
                .call(&op::ECR_LIST_TAGS_FOR_RESOURCE, || {
                    ecr.list_tags_for_resource().resource_arn(&arn).send()
                })
                .await?
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            let owned = owner.is_some_and(|(key, value)| tags.get(key).is_some_and(|v| v == value));
            if !wanted && !owned {
                continue;
            }
            let policy = if wanted { self.policy(&name).await? } else { None };
            found.push(RepositoryObservation {
                scan_on_push: repository
                    .image_scanning_configuration()
                    .is_some_and(|c| c.scan_on_push()),
                immutable_tags: repository
                    .image_tag_mutability()
                    .is_some_and(|m| *m != ImageTagMutability::Mutable),
                uri: repository.repository_uri().unwrap_or_default().to_owned(),
                name,
                arn,
                tags,
                policy,
            });
        }
        Ok(found)
    }

    /// The repository's policy document; `None` when it has none (or the repository is gone).
    pub async fn policy(&self, name: &str) -> Result<Option<String>, AwsError> {
        let ecr = self.session.ecr_client();
        Ok(optional(
            self.session
                .call(&op::ECR_GET_REPOSITORY_POLICY, || {
                    ecr.get_repository_policy().repository_name(name).send()
                })
                .await,
        )?
        .and_then(|p| p.policy_text().map(str::to_owned)))
    }

    pub async fn create_repository(
        &self,
        name: &str,
        scan_on_push: bool,
        immutable_tags: bool,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let ecr = self.session.ecr_client();
        let tags = to_tags(tags)?;
        self.session
            .call(&op::ECR_CREATE_REPOSITORY, || {
                ecr.create_repository()
                    .repository_name(name)
                    .image_scanning_configuration(scanning(scan_on_push))
                    .image_tag_mutability(mutability(immutable_tags))
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn put_scan_on_push(&self, name: &str, scan_on_push: bool) -> Result<(), AwsError> {
        let ecr = self.session.ecr_client();
        self.session
            .call(&op::ECR_PUT_IMAGE_SCANNING_CONFIGURATION, || {
                ecr.put_image_scanning_configuration()
                    .repository_name(name)
                    .image_scanning_configuration(scanning(scan_on_push))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn put_tag_mutability(&self, name: &str, immutable_tags: bool) -> Result<(), AwsError> {
        let ecr = self.session.ecr_client();
        self.session
            .call(&op::ECR_PUT_IMAGE_TAG_MUTABILITY, || {
                ecr.put_image_tag_mutability()
                    .repository_name(name)
                    .image_tag_mutability(mutability(immutable_tags))
                    .send()
            })
            .await
            .map(drop)
    }

    /// A policy past ECR's 10,240 characters is never sent.
    pub async fn set_policy(&self, name: &str, document: &str) -> Result<(), AwsError> {
        ECR_REPOSITORY_POLICY
            .check_document(document, &format!("the policy of repository {name}"))
            .map_err(|refused| refused.refused("ecr", "SetRepositoryPolicy"))?;
        let ecr = self.session.ecr_client();
        self.session
            .call(&op::ECR_SET_REPOSITORY_POLICY, || {
                ecr.set_repository_policy()
                    .repository_name(name)
                    .policy_text(document)
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_policy(&self, name: &str) -> Result<(), AwsError> {
        let ecr = self.session.ecr_client();
        self.session
            .delete_if_exists(&op::ECR_DELETE_REPOSITORY_POLICY, || {
                ecr.delete_repository_policy().repository_name(name).send()
            })
            .await
    }

    pub async fn retag(&self, arn: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, ecr) = (self.session, &self.session.ecr_client());
        update
            .apply(
                |add| async move {
                    let tags = to_tags(&add)?;
                    session
                        .write(&op::ECR_TAG_RESOURCE, || {
                            ecr.tag_resource().resource_arn(arn).set_tags(Some(tags.clone())).send()
                        })
                        .await
                },
                |remove| {
                    session.write(&op::ECR_UNTAG_RESOURCE, move || {
                        ecr.untag_resource()
                            .resource_arn(arn)
                            .set_tag_keys(Some(remove.clone()))
                            .send()
                    })
                },
            )
            .await
    }

    /// Whether the repository holds no image.
    pub async fn is_empty(&self, name: &str) -> Result<bool, AwsError> {
        let ecr = self.session.ecr_client();
        let listed = self
            .session
            .call(&op::ECR_LIST_IMAGES, || {
                ecr.list_images().repository_name(name).max_results(1).send()
            })
            .await?;
        Ok(listed.image_ids().is_empty())
    }

    /// Never forced: a repository that still holds images fails with a Conflict
    /// (RepositoryNotEmptyException) and is kept.
    pub async fn delete_repository(&self, name: &str) -> Result<(), AwsError> {
        let ecr = self.session.ecr_client();
        self.session
            .delete_if_exists(&op::ECR_DELETE_REPOSITORY, || {
                ecr.delete_repository().repository_name(name).send()
            })
            .await
    }
}

fn scanning(scan_on_push: bool) -> ImageScanningConfiguration {
    ImageScanningConfiguration::builder().scan_on_push(scan_on_push).build()
}

fn mutability(immutable_tags: bool) -> ImageTagMutability {
    if immutable_tags {
        ImageTagMutability::Immutable
    } else {
        ImageTagMutability::Mutable
    }
}

fn to_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::request(SERVICE, "TagResource", e))
        })
        .collect()
}
