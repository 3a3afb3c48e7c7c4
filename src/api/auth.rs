//! Credentials and the signed-in session (vntana-api.md, "Authentication"; product.md,
//! "Applying", tokens). A session signs in once, knows the user's organizations and roles,
//! and hands out one organization token per organization per run: minted on first use, never
//! two mints of one organization at a time (vntana-api.md: a mint revokes the same user's
//! previous token of that organization; different organizations mint concurrently), after
//! checking the role may manage webhooks. When a token turns out to be
//! revoked (another run minted one), it is re-minted once for that organization; a second
//! revocation means another run with the same credentials is active, which is an error.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use super::client::Client;
use super::error::ApiError;
use super::ids::OrganizationUuid;
use super::redacted::{ApiKey, Password, Token};
use super::wire::{Organization, roles};

/// How to sign in.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// `VNTANA_API_KEY`: a personal access token ("Authentication Key").
    ApiKey(ApiKey),
    /// `VNTANA_EMAIL` and `VNTANA_PASSWORD`.
    Password { email: String, password: Password },
}

/// A session that cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials: set VNTANA_API_KEY (wins), or VNTANA_EMAIL and VNTANA_PASSWORD")]
    NoCredentials,
    #[error("VNTANA_EMAIL is set but VNTANA_PASSWORD is not: set both, or VNTANA_API_KEY")]
    MissingPassword,
    #[error("VNTANA_PASSWORD is set but VNTANA_EMAIL is not: set both, or VNTANA_API_KEY")]
    MissingEmail,
    #[error("cannot sign in to {url} with {method}")]
    SignIn {
        url: String,
        method: &'static str,
        #[source]
        source: ApiError,
    },
    #[error("cannot list the organizations of {email}")]
    Organizations {
        email: String,
        #[source]
        source: ApiError,
    },
    #[error(
        "organization `{slug}` is not visible to {email}; the organizations it can see: {visible}"
    )]
    UnknownOrganization {
        slug: String,
        email: String,
        visible: String,
    },
    #[error(
        "{email} has the role {role} in organization `{slug}`; managing webhooks needs {}",
        roles::MANAGING_ROLES
    )]
    RoleMayNotManage {
        slug: String,
        email: String,
        role: String,
    },
    #[error("cannot get a token for organization `{slug}`")]
    Mint {
        slug: String,
        #[source]
        source: ApiError,
    },
    #[error(
        "the token for organization `{slug}` was revoked twice in this run: another run with the same credentials seems to be active; let it finish, or use other credentials"
    )]
    RevokedAgain { slug: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl Credentials {
    /// Credentials from the environment (`lookup` reads a variable): `VNTANA_API_KEY` wins,
    /// else `VNTANA_EMAIL` with `VNTANA_PASSWORD`. Empty values count as unset.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, AuthError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        if let Some(key) = get("VNTANA_API_KEY") {
            return Ok(Credentials::ApiKey(ApiKey::new(key)));
        }
        match (get("VNTANA_EMAIL"), get("VNTANA_PASSWORD")) {
            (Some(email), Some(password)) => Ok(Credentials::Password {
                email,
                password: Password::new(password),
            }),
            (Some(_), None) => Err(AuthError::MissingPassword),
            (None, Some(_)) => Err(AuthError::MissingEmail),
            (None, None) => Err(AuthError::NoCredentials),
        }
    }
}

/// What an organization token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Reading or changing webhooks and folders: needs an owner or admin role.
    ManageWebhooks,
    /// Reading the event catalogue: any role.
    ReadCatalogue,
}

#[derive(Debug)]
struct OrgToken {
    token: Token,
    remints: u32,
}

/// A signed-in user.
#[derive(Debug)]
pub struct Session {
    client: Client,
    login: Token,
    email: String,
    organizations: Vec<Organization>,
    tokens: Mutex<BTreeMap<OrganizationUuid, OrgToken>>,
    /// Per organization, held while minting its token: one mint of an organization at a time.
    minting: Mutex<BTreeMap<OrganizationUuid, Arc<tokio::sync::Mutex<()>>>>,
}

impl Session {
    /// Signs in and lists the user's organizations.
    pub async fn sign_in(client: Client, credentials: &Credentials) -> Result<Session, AuthError> {
        let signed_in = match credentials {
            Credentials::ApiKey(key) => {
                client
                    .sign_in_with_key(key)
                    .await
                    .map_err(|source| AuthError::SignIn {
                        url: client.base_url(),
                        method: "VNTANA_API_KEY",
                        source,
                    })?
            }
            Credentials::Password { email, password } => client
                .sign_in_with_password(email, password)
                .await
                .map_err(|source| AuthError::SignIn {
                    url: client.base_url(),
                    method: "VNTANA_EMAIL and VNTANA_PASSWORD",
                    source,
                })?,
        };
        let organizations = client
            .organizations(&signed_in.token)
            .await
            .map_err(|source| AuthError::Organizations {
                email: signed_in.email.clone(),
                source,
            })?;
        Ok(Session {
            client,
            login: signed_in.token,
            email: signed_in.email,
            organizations,
            tokens: Mutex::new(BTreeMap::new()),
            minting: Mutex::new(BTreeMap::new()),
        })
    }

    /// Starts a new pass of `watch`: the one re-mint per organization is counted per pass.
    pub fn start_pass(&self) {
        for token in self.tokens.lock().expect("token cache lock").values_mut() {
            token.remints = 0;
        }
    }

    /// The client the session uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The signed-in user's email.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The organizations the user can see, as `GET /v1/organizations` listed them.
    pub fn organizations(&self) -> &[Organization] {
        &self.organizations
    }

    /// The organization with this slug, or an error listing the visible ones.
    pub fn organization(&self, slug: &str) -> Result<&Organization, AuthError> {
        self.organizations
            .iter()
            .find(|o| o.slug == slug)
            .ok_or_else(|| {
                let mut visible: Vec<&str> =
                    self.organizations.iter().map(|o| o.slug.as_str()).collect();
                visible.sort_unstable();
                AuthError::UnknownOrganization {
                    slug: slug.to_owned(),
                    email: self.email.clone(),
                    visible: if visible.is_empty() {
                        "none".to_owned()
                    } else {
                        visible.join(", ")
                    },
                }
            })
    }

    /// The organization's token, minted on first use (after the role check for
    /// `ManageWebhooks`).
    pub async fn token(
        &self,
        organization: &Organization,
        usage: TokenUse,
    ) -> Result<Token, AuthError> {
        if usage == TokenUse::ManageWebhooks && !roles::may_manage_webhooks(&organization.role) {
            return Err(AuthError::RoleMayNotManage {
                slug: organization.slug.clone(),
                email: self.email.clone(),
                role: organization.role.clone(),
            });
        }
        if let Some(token) = self.cached(&organization.uuid) {
            return Ok(token);
        }
        let lock = self.minting_lock(&organization.uuid);
        let _minting = lock.lock().await;
        // Another task may have minted it while this one waited.
        if let Some(token) = self.cached(&organization.uuid) {
            return Ok(token);
        }
        let token = self.mint(organization).await?;
        self.tokens.lock().expect("token cache lock").insert(
            organization.uuid.clone(),
            OrgToken {
                token: token.clone(),
                remints: 0,
            },
        );
        Ok(token)
    }

    /// The lock held while minting `organization`'s token.
    fn minting_lock(&self, organization: &OrganizationUuid) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            self.minting
                .lock()
                .expect("minting locks lock")
                .entry(organization.clone())
                .or_default(),
        )
    }

    fn cached(&self, organization: &OrganizationUuid) -> Option<Token> {
        self.tokens
            .lock()
            .expect("token cache lock")
            .get(organization)
            .map(|t| t.token.clone())
    }

    async fn mint(&self, organization: &Organization) -> Result<Token, AuthError> {
        tracing::debug!("minting a token for organization {}", organization.slug);
        self.client
            .mint_organization_token(&self.login, &organization.uuid)
            .await
            .map_err(|source| AuthError::Mint {
                slug: organization.slug.clone(),
                source,
            })
    }

    /// Runs `operation` with the organization's token. If it fails with 403 because the token
    /// was revoked or expired (checked, so a real 403 is not mistaken for one), the token is
    /// re-minted (once per organization per session) and the operation runs again; if the new
    /// token is revoked too before that run is answered, that is the second revocation
    /// (product.md, "Tokens"), not a plain 403.
    pub async fn with_token<T, F, Fut>(
        &self,
        organization: &Organization,
        usage: TokenUse,
        operation: F,
    ) -> Result<T, AuthError>
    where
        F: Fn(Token) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let token = self.token(organization, usage).await?;
        match operation(token.clone()).await {
            Err(err) if err.is_forbidden() && self.is_dead(&token).await => {
                let fresh = self.remint(organization, &token).await?;
                match operation(fresh.clone()).await {
                    Err(err) if err.is_forbidden() && self.is_dead(&fresh).await => {
                        Err(AuthError::RevokedAgain {
                            slug: organization.slug.clone(),
                        })
                    }
                    result => Ok(result?),
                }
            }
            result => Ok(result?),
        }
    }

    /// Whether the platform no longer accepts `token` (revoked or expired): it is asked to
    /// list organizations, which any live organization token may do.
    async fn is_dead(&self, token: &Token) -> bool {
        match self.client.organizations(token).await {
            Ok(_) => false,
            Err(err) => err.is_forbidden(),
        }
    }

    /// Replaces a dead token. If another task already replaced it, that token is used; the
    /// second revocation of one organization's token in a session is an error.
    async fn remint(&self, organization: &Organization, dead: &Token) -> Result<Token, AuthError> {
        let lock = self.minting_lock(&organization.uuid);
        let _minting = lock.lock().await;
        let remints = {
            let tokens = self.tokens.lock().expect("token cache lock");
            match tokens.get(&organization.uuid) {
                Some(current) if current.token != *dead => return Ok(current.token.clone()),
                Some(current) => current.remints,
                None => 0,
            }
        };
        if remints >= 1 {
            return Err(AuthError::RevokedAgain {
                slug: organization.slug.clone(),
            });
        }
        tracing::info!(
            "the token for organization {} was revoked; minting a new one",
            organization.slug
        );
        let token = self.mint(organization).await?;
        self.tokens.lock().expect("token cache lock").insert(
            organization.uuid.clone(),
            OrgToken {
                token: token.clone(),
                remints: remints + 1,
            },
        );
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_api_key_wins_over_email_and_password() {
        let creds = Credentials::from_env(env(&[
            ("VNTANA_API_KEY", "k"),
            ("VNTANA_EMAIL", "a@b.co"),
            ("VNTANA_PASSWORD", "p"),
        ]))
        .unwrap();
        assert!(matches!(creds, Credentials::ApiKey(key) if key.expose() == "k"));
    }

    #[test]
    fn email_needs_a_password_and_nothing_set_is_an_error() {
        let both =
            Credentials::from_env(env(&[("VNTANA_EMAIL", "a@b.co"), ("VNTANA_PASSWORD", "p")]));
        assert!(matches!(both, Ok(Credentials::Password { .. })));
        assert!(matches!(
            Credentials::from_env(env(&[("VNTANA_EMAIL", "a@b.co")])),
            Err(AuthError::MissingPassword)
        ));
        assert!(matches!(
            Credentials::from_env(env(&[("VNTANA_PASSWORD", "p")])),
            Err(AuthError::MissingEmail)
        ));
        assert!(matches!(
            Credentials::from_env(env(&[("VNTANA_API_KEY", "")])),
            Err(AuthError::NoCredentials)
        ));
    }
}
