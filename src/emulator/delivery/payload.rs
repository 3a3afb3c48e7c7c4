//! The body of a fired event (vntana-api.md, "Delivery"): product events carry the product
//! (and its folder when the event names one), `client.added` the folder, `user.*` the user.
//! The product, user or new folder is made up, with ids and names from the emulator's id
//! source, so a deterministic emulator sends the same bodies every run.

use super::super::catalogue::CatalogueEvent;
use super::super::ids::IdSource;
use super::super::state::{Folder, Organization};
use crate::api::delivery::{ClientRef, DeliveryBody, OrganizationRef, ProductRef, UserRef};
use crate::api::wire::roles;

const PRODUCTS: &[&str] = &[
    "Sneaker",
    "Leather Tote",
    "Desk Lamp",
    "Trail Runner",
    "Wool Scarf",
    "Armchair",
    "Sunglasses",
    "Backpack",
];

const PEOPLE: &[&str] = &[
    "sam.rivera",
    "alex.chen",
    "maria.okafor",
    "jonas.berg",
    "priya.nair",
    "lea.martin",
];

/// The product status an event reports *(decided)*: the status a product has when the event
/// happens; a published product is a completed one.
fn product_status(event: &str) -> &'static str {
    match event {
        "product.added" => "DRAFT",
        "product.pending" => "PENDING",
        "product.processing" => "PROCESSING",
        "product.failed" => "FAILED",
        "product.terminated" => "TERMINATED",
        "product.deleted" => "DELETED",
        _ => "COMPLETED",
    }
}

/// The body of `event` in `organization`, in `folder` if the event names one.
pub fn body(
    organization: &Organization,
    event: &CatalogueEvent,
    folder: Option<&Folder>,
    ids: &IdSource,
) -> DeliveryBody {
    let mut body = DeliveryBody {
        event: event.name.to_owned(),
        organization: OrganizationRef {
            uuid: organization.uuid.clone(),
        },
        client: folder.map(|f| ClientRef {
            uuid: f.uuid.clone(),
            name: None,
            slug: None,
        }),
        product: None,
        user: None,
    };
    match event.category {
        "Product" => {
            body.product = Some(ProductRef {
                uuid: ids.uuid(),
                name: PRODUCTS[ids.index(PRODUCTS.len())].to_owned(),
                status: product_status(event.name).to_owned(),
            });
        }
        "Folder" => {
            // The folder that was added: the one named, else a new one.
            body.client = Some(if let Some(f) = folder {
                ClientRef {
                    uuid: f.uuid.clone(),
                    name: Some(f.name.clone()),
                    slug: Some(f.slug.clone()),
                }
            } else {
                let uuid = ids.uuid();
                let short = &uuid[..8];
                ClientRef {
                    name: Some(format!("Folder {short}")),
                    slug: Some(format!("folder-{short}")),
                    uuid: uuid.as_str().into(),
                }
            });
        }
        _ => {
            // A user of a folder has a folder role; one of the organization an admin's.
            let role = if folder.is_some() {
                roles::CLIENT_ORGANIZATION_CONTENT_MANAGER
            } else {
                roles::ORGANIZATION_ADMIN
            };
            body.user = Some(UserRef {
                uuid: ids.uuid(),
                email: format!(
                    "{}@{}.example",
                    PEOPLE[ids.index(PEOPLE.len())],
                    organization.slug
                ),
                role: role.to_owned(),
            });
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::super::super::catalogue;
    use super::*;

    fn acme() -> Organization {
        Organization {
            uuid: "7d1f0c2e-0000-4000-8000-000000000001".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            image_blob_id: String::new(),
            created: String::new(),
            folders: vec![Folder {
                uuid: "f0000000-0000-4000-8000-000000000001".into(),
                slug: "footwear".into(),
                name: "Footwear".into(),
                image_blob_id: String::new(),
                created: String::new(),
            }],
        }
    }

    fn json(event: &str, folder: bool) -> serde_json::Value {
        let org = acme();
        let folder = folder.then(|| &org.folders[0]);
        let body = body(
            &org,
            catalogue::by_name(event).unwrap(),
            folder,
            &IdSource::seeded(3),
        );
        serde_json::from_slice(&body.to_bytes()).unwrap()
    }

    #[test]
    fn product_events_carry_the_product_and_the_folder_uuid() {
        let body = json("product.added", true);
        assert_eq!(body["event"], "product.added");
        assert_eq!(
            body["organization"],
            serde_json::json!({"uuid": "7d1f0c2e-0000-4000-8000-000000000001"})
        );
        assert_eq!(
            body["client"],
            serde_json::json!({"uuid": "f0000000-0000-4000-8000-000000000001"})
        );
        assert_eq!(body["product"]["status"], "DRAFT");
        assert!(body["product"]["name"].is_string());
        assert!(json("product.completed", false).get("client").is_none());
    }

    #[test]
    fn client_added_carries_the_folder_and_user_events_the_user() {
        assert_eq!(
            json("client.added", true)["client"],
            serde_json::json!({"uuid": "f0000000-0000-4000-8000-000000000001", "name": "Footwear", "slug": "footwear"})
        );
        assert!(
            json("client.added", false)["client"]["slug"]
                .as_str()
                .unwrap()
                .starts_with("folder-")
        );
        let user = json("user.revoked", false);
        assert_eq!(user["user"]["role"], "ORGANIZATION_ADMIN");
        assert!(
            user["user"]["email"]
                .as_str()
                .unwrap()
                .ends_with("@acme.example")
        );
        assert!(user.get("product").is_none());
    }

    #[test]
    fn the_same_seed_makes_the_same_body() {
        assert_eq!(json("product.added", true), json("product.added", true));
    }
}
