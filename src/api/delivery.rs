//! The body of a delivery, what the platform POSTs to a webhook's url (vntana-api.md,
//! "Delivery"): the event name, the organization, and the folder, product or user the event is
//! about. The emulator serialises it (compact, fields in the spec's order) and `listen` reads
//! it back; reading is lenient, since a receiver must accept fields it does not know.

use serde::{Deserialize, Serialize};

use super::ids::{FolderUuid, OrganizationUuid};

/// A delivery body, e.g.
/// `{"event":"product.added","organization":{"uuid":"..."},"client":{"uuid":"..."},"product":{...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryBody {
    pub event: String,
    pub organization: OrganizationRef,
    /// The folder the event happened in: only its uuid for product events, also its name and
    /// slug for `client.added`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationRef {
    pub uuid: OrganizationUuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRef {
    pub uuid: FolderUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    pub uuid: String,
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub uuid: String,
    pub email: String,
    pub role: String,
}

impl DeliveryBody {
    /// The compact JSON bytes the platform sends.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a delivery body serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_serialises_compactly_in_the_spec_s_field_order() {
        let body = DeliveryBody {
            event: "product.added".into(),
            organization: OrganizationRef {
                uuid: "7d1f0c2e-0000-4000-8000-000000000001".into(),
            },
            client: None,
            product: Some(ProductRef {
                uuid: "3b6a1d9e-0000-4000-8000-000000000002".into(),
                name: "Sneaker".into(),
                status: "DRAFT".into(),
            }),
            user: None,
        };
        // The spec's known-answer body, byte for byte.
        assert_eq!(
            String::from_utf8(body.to_bytes()).unwrap(),
            r#"{"event":"product.added","organization":{"uuid":"7d1f0c2e-0000-4000-8000-000000000001"},"product":{"uuid":"3b6a1d9e-0000-4000-8000-000000000002","name":"Sneaker","status":"DRAFT"}}"#
        );
    }

    #[test]
    fn reading_ignores_fields_it_does_not_know() {
        let body: DeliveryBody = serde_json::from_str(
            r#"{"event":"user.revoked","organization":{"uuid":"o","name":"Acme"},"user":{"uuid":"u","email":"a@b.co","role":"X","extra":1},"new":true}"#,
        )
        .unwrap();
        assert_eq!(body.event, "user.revoked");
        assert_eq!(body.user.unwrap().email, "a@b.co");
    }
}
