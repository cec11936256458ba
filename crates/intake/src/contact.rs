//! `GetCitizenContact`: the only way a citizen's identity leaves intake — over gRPC, to
//! another Kenduren service holding a service token, never on the event stream.

use kenduren_domain::QuestionId;
use kenduren_proto::intake::v1::{GetCitizenContactRequest, GetCitizenContactResponse};
use kenduren_runtime::ApiError;

use crate::api::Intake;

/// Citizen reference and wrapped key (both gone once erased), sealed contact (gone once
/// erased), anonymous.
type SealedRow = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>, bool);

impl Intake {
    pub(crate) async fn contact(
        &self,
        req: GetCitizenContactRequest,
    ) -> Result<GetCitizenContactResponse, ApiError> {
        let id =
            QuestionId::parse(&req.question_id).map_err(|e| ApiError::field("question_id", e.to_string()))?;
        let known: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM questions WHERE question_id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.ctx.pool)
            .await?;
        if known.is_none() {
            return Err(ApiError::NotFound(format!("no question {id}")));
        }
        let row: Option<SealedRow> = sqlx::query_as(
            "SELECT k.citizen_ref, k.wrapped_key, c.sealed, c.anonymous
             FROM sealed_contacts c LEFT JOIN citizen_keys k USING (citizen_ref)
             WHERE c.question_id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.ctx.pool)
        .await?;
        match row {
            // No contact given, or erased: nothing to tell.
            None | Some((None, _, _, _)) | Some((_, None, _, _)) | Some((_, _, None, _)) => {
                Ok(GetCitizenContactResponse::default())
            }
            Some((Some(citizen), Some(wrapped), Some(sealed), anonymous)) => {
                let broken = |e: crate::vault::VaultError| ApiError::Internal(e.to_string());
                let citizen: crate::vault::CitizenRef = citizen
                    .try_into()
                    .map_err(|_| ApiError::Internal("a citizen reference is not 32 bytes".into()))?;
                let key = self.vault.data_key(&citizen, &wrapped).map_err(broken)?;
                let c = self.vault.open(&key, id.as_uuid(), &sealed).map_err(broken)?;
                Ok(GetCitizenContactResponse {
                    name: c.name,
                    phone: c.phone,
                    email: c.email,
                    anonymous,
                })
            }
        }
    }
}
