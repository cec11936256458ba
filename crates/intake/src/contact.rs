//! `GetCitizenContact`: the only way a citizen's identity leaves intake — over gRPC, to
//! another Kenduren service holding a service token, never on the event stream.

use kenduren_domain::QuestionId;
use kenduren_proto::intake::v1::{GetCitizenContactRequest, GetCitizenContactResponse};
use kenduren_runtime::ApiError;

use crate::api::Intake;

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
        let row: Option<(String, String, String, bool)> =
            sqlx::query_as("SELECT name, phone, email, anonymous FROM contacts WHERE question_id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.ctx.pool)
                .await?;
        Ok(row
            .map(|(name, phone, email, anonymous)| GetCitizenContactResponse {
                name,
                phone,
                email,
                anonymous,
            })
            .unwrap_or_default())
    }
}
