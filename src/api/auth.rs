//! Credentials and the signed-in session (vntana-api.md, "Authentication"; product.md,
//! "Applying", tokens). A session signs in once, knows the user's organizations and roles,
//! and hands out one organization token per organization per run: minted on first use, never
//! two mints of one organization at a time (vntana-api.md: a mint revokes the same user's
//! previous token of that organization; different organizations mint concurrently), after
//! checking the role may manage webhooks. When the platform stops accepting a token that
//! worked (401 or 403: revoked by another run, expired after 30 days, or forgotten), the
//! session signs in again with the credentials it keeps (redacted) and re-mints the token,
//! once per organization per pass; a second dead token of one organization in a pass means
//! another run with the same credentials is active, which is an error (vntana-api.md, "Token
//! facts": never a loop).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use super::client::{Client, SignedIn};
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
    #[error(
        "cannot sign in again for organization `{slug}` after the platform stopped accepting its token"
    )]
    SignInAgain {
        slug: String,
        #[source]
        source: Box<AuthError>,
    },
    #[error(
        "the platform still refuses the tokens for organization `{slug}` after this run signed in again; not signing in again before the next pass of watch, or the next run"
    )]
    RefusedAfterSigningInAgain { slug: String },
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

/// The login token, and which sign-in of the session made it (1: the first). Organization
/// tokens remember the sign-in they were minted with, so one re-sign-in serves every
/// organization whose token died with the old login.
#[derive(Debug, Clone)]
struct Login {
    token: Token,
    generation: u64,
}

/// What the session knows of one organization.
#[derive(Debug, Default)]
struct OrgState {
    /// Its token, and the generation of the login it was minted with.
    token: Option<(Token, u64)>,
    /// Re-mints in this pass (product.md: one per organization per pass).
    remints: u32,
    /// Whether this pass signed in again for it (vntana-api.md: once, never a loop).
    signed_in_again: bool,
}

/// A signed-in user.
#[derive(Debug)]
pub struct Session {
    client: Client,
    /// Kept (redacted) to sign in again when the platform stops accepting the session's tokens:
    /// they expire after 30 days, and a restarted platform may forget them.
    credentials: Credentials,
    login: Mutex<Login>,
    email: String,
    organizations: Vec<Organization>,
    orgs: Mutex<BTreeMap<OrganizationUuid, OrgState>>,
    /// Per organization, held while minting its token: one mint of an organization at a time.
    minting: Mutex<BTreeMap<OrganizationUuid, Arc<tokio::sync::Mutex<()>>>>,
    /// Held while signing in again: one sign-in at a time.
    signing_in: tokio::sync::Mutex<()>,
}

/// Signs in with `credentials`; the error names the url and the kind of credentials.
async fn sign_in_with(client: &Client, credentials: &Credentials) -> Result<SignedIn, AuthError> {
    let (signed_in, method) = match credentials {
        Credentials::ApiKey(key) => (client.sign_in_with_key(key).await, "VNTANA_API_KEY"),
        Credentials::Password { email, password } => (
            client.sign_in_with_password(email, password).await,
            "VNTANA_EMAIL and VNTANA_PASSWORD",
        ),
    };
    signed_in.map_err(|source| AuthError::SignIn {
        url: client.base_url(),
        method,
        source,
    })
}

impl Session {
    /// Signs in and lists the user's organizations.
    pub async fn sign_in(client: Client, credentials: &Credentials) -> Result<Session, AuthError> {
        let signed_in = sign_in_with(&client, credentials).await?;
        let organizations = client
            .organizations(&signed_in.token)
            .await
            .map_err(|source| AuthError::Organizations {
                email: signed_in.email.clone(),
                source,
            })?;
        Ok(Session {
            client,
            credentials: credentials.clone(),
            login: Mutex::new(Login {
                token: signed_in.token,
                generation: 1,
            }),
            email: signed_in.email,
            organizations,
            orgs: Mutex::new(BTreeMap::new()),
            minting: Mutex::new(BTreeMap::new()),
            signing_in: tokio::sync::Mutex::new(()),
        })
    }

    /// Starts a new pass of `watch`: the one re-mint and the one re-sign-in per organization
    /// are counted per pass.
    pub fn start_pass(&self) {
        for state in self.orgs.lock().expect("organizations lock").values_mut() {
            state.remints = 0;
            state.signed_in_again = false;
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
        if let Some((token, _)) = self.cached(&organization.uuid) {
            return Ok(token);
        }
        let lock = self.minting_lock(&organization.uuid);
        let _minting = lock.lock().await;
        // Another task may have minted it while this one waited.
        if let Some((token, _)) = self.cached(&organization.uuid) {
            return Ok(token);
        }
        let (token, generation) = self.mint(organization, None).await?;
        self.store(organization, token.clone(), generation, 0);
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

    /// The organization's token and the generation of the login it was minted with.
    fn cached(&self, organization: &OrganizationUuid) -> Option<(Token, u64)> {
        self.orgs
            .lock()
            .expect("organizations lock")
            .get(organization)
            .and_then(|state| state.token.clone())
    }

    fn store(&self, organization: &Organization, token: Token, generation: u64, remints: u32) {
        let mut orgs = self.orgs.lock().expect("organizations lock");
        let state = orgs.entry(organization.uuid.clone()).or_default();
        state.token = Some((token, generation));
        state.remints = remints;
    }

    fn login(&self) -> Login {
        self.login.lock().expect("login lock").clone()
    }

    /// Mints `organization`'s token with the current login. `stale` is the generation of the
    /// login a dead token of the organization was minted with: while the login is still that
    /// one, it is as old as the dead token, so the session signs in again first
    /// (vntana-api.md, "Token facts"). A mint refused because the login itself is no longer
    /// accepted signs in again too. Returns the token and its login's generation.
    async fn mint(
        &self,
        organization: &Organization,
        stale: Option<u64>,
    ) -> Result<(Token, u64), AuthError> {
        let mut login = self.login();
        let mut renewed = false;
        if stale == Some(login.generation) {
            login = self.sign_in_again(organization, login.generation).await?;
            renewed = true;
        }
        tracing::debug!("minting a token for organization {}", organization.slug);
        let minted = match self
            .client
            .mint_organization_token(&login.token, &organization.uuid)
            .await
        {
            Err(err) if !renewed && err.is_token_refused() && self.is_dead(&login.token).await => {
                login = self.sign_in_again(organization, login.generation).await?;
                self.client
                    .mint_organization_token(&login.token, &organization.uuid)
                    .await
            }
            minted => minted,
        };
        minted
            .map(|token| (token, login.generation))
            .map_err(|source| AuthError::Mint {
                slug: organization.slug.clone(),
                source,
            })
    }

    /// Replaces the login whose generation is `seen`, for `organization`: signs in again with
    /// the session's credentials, at most once per organization per pass, one sign-in at a
    /// time. If another task already signed in again since `seen`, its login is used.
    async fn sign_in_again(
        &self,
        organization: &Organization,
        seen: u64,
    ) -> Result<Login, AuthError> {
        let _one = self.signing_in.lock().await;
        let current = self.login();
        if current.generation != seen {
            return Ok(current);
        }
        {
            let mut orgs = self.orgs.lock().expect("organizations lock");
            let state = orgs.entry(organization.uuid.clone()).or_default();
            if state.signed_in_again {
                return Err(AuthError::RefusedAfterSigningInAgain {
                    slug: organization.slug.clone(),
                });
            }
            state.signed_in_again = true;
        }
        tracing::info!(
            "signing in again for organization {}: its tokens are no longer accepted",
            organization.slug
        );
        let signed_in = sign_in_with(&self.client, &self.credentials)
            .await
            .map_err(|source| AuthError::SignInAgain {
                slug: organization.slug.clone(),
                source: Box::new(source),
            })?;
        let login = Login {
            token: signed_in.token,
            generation: seen + 1,
        };
        *self.login.lock().expect("login lock") = login.clone();
        Ok(login)
    }

    /// Runs `operation` with the organization's token. If it fails with 401 or 403 because
    /// the token is no longer accepted (revoked, expired, or forgotten by the platform;
    /// checked, so a real refusal is not mistaken for one), the session signs in again and
    /// re-mints the token (once per organization per pass) and the operation runs again; if
    /// the new token dies too before that run is answered, that is the second revocation
    /// (product.md, "Tokens"), not a plain refusal. vntana-api.md, "Token facts": never a
    /// loop.
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
            Err(err) if err.is_token_refused() && self.is_dead(&token).await => {
                let fresh = self.remint(organization, &token).await?;
                match operation(fresh.clone()).await {
                    Err(err) if err.is_token_refused() && self.is_dead(&fresh).await => {
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

    /// Whether the platform no longer accepts `token` (revoked, expired or forgotten): it is
    /// asked to list organizations, which a live login or organization token may do.
    async fn is_dead(&self, token: &Token) -> bool {
        match self.client.organizations(token).await {
            Ok(_) => false,
            Err(err) => err.is_token_refused(),
        }
    }

    /// Replaces a dead token, signing in again first when the login is as old as it. If
    /// another task already replaced it, that token is used; a second dead token of one
    /// organization in a pass is an error.
    async fn remint(&self, organization: &Organization, dead: &Token) -> Result<Token, AuthError> {
        let lock = self.minting_lock(&organization.uuid);
        let _minting = lock.lock().await;
        let (remints, generation) = {
            let orgs = self.orgs.lock().expect("organizations lock");
            match orgs.get(&organization.uuid) {
                Some(OrgState {
                    token: Some((current, _)),
                    ..
                }) if current != dead => return Ok(current.clone()),
                Some(OrgState {
                    token: Some((_, generation)),
                    remints,
                    ..
                }) => (*remints, *generation),
                _ => (0, self.login().generation),
            }
        };
        if remints >= 1 {
            return Err(AuthError::RevokedAgain {
                slug: organization.slug.clone(),
            });
        }
        tracing::info!(
            "the token for organization {} was revoked, or expired, or the platform forgot it; minting a new one",
            organization.slug
        );
        let (token, generation) = self.mint(organization, Some(generation)).await?;
        self.store(organization, token.clone(), generation, remints + 1);
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
