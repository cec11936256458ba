//! Answer templates per OPD (`ListTemplates`, `UpsertTemplate`): reusable answers
//! to common questions. An OPD reads and writes only its own.

use chrono::{DateTime, Utc};
use kenduren_domain::OpdCode;
use kenduren_proto::answering::v1::{
    AnswerTemplate, ListTemplatesRequest, ListTemplatesResponse, UpsertTemplateRequest,
    UpsertTemplateResponse,
};
use kenduren_runtime::{timestamp, ApiError};

use crate::{api::Answering, check::Check};

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;
const MAX_ID_CHARS: usize = 64;

type Row = (String, String, String, String, String, DateTime<Utc>);

fn to_proto((opd_code, template_id, title, body, category, updated_at): Row) -> AnswerTemplate {
    AnswerTemplate {
        template_id,
        opd_code,
        title,
        body,
        category,
        updated_at: Some(timestamp(updated_at)),
    }
}

/// Lower-case letters, digits and '-', 1–64 characters: safe in URLs and page tokens.
fn valid_template_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Answering {
    pub(crate) async fn list_templates(
        &self,
        req: ListTemplatesRequest,
    ) -> Result<ListTemplatesResponse, ApiError> {
        let mut c = Check::default();
        let opd = c.parse("opd_code", OpdCode::parse(&req.opd_code));
        let page_size = match i64::from(req.page_size) {
            0 => DEFAULT_PAGE,
            n if n < 0 => {
                c.fail("page_size", "page_size must not be negative");
                DEFAULT_PAGE
            }
            n => n.min(MAX_PAGE),
        };
        // The token is the last template id of the previous page (ids sort as text).
        if !req.page_token.is_empty() && !valid_template_id(&req.page_token) {
            c.fail("page_token", "page_token is not one this service returned");
        }
        let opd = c.done(opd)?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT opd_code, template_id, title, body, category, updated_at FROM answer_templates
             WHERE opd_code = $1 AND template_id > $2 ORDER BY template_id LIMIT $3",
        )
        .bind(opd.as_str())
        .bind(&req.page_token)
        .bind(page_size + 1)
        .fetch_all(&self.ctx.pool)
        .await?;
        let more = rows.len() as i64 > page_size;
        let templates: Vec<AnswerTemplate> =
            rows.into_iter().take(page_size as usize).map(to_proto).collect();
        let next_page_token = match templates.last() {
            Some(last) if more => last.template_id.clone(),
            _ => String::new(),
        };
        Ok(ListTemplatesResponse {
            templates,
            next_page_token,
        })
    }

    pub(crate) async fn upsert_template(
        &self,
        req: UpsertTemplateRequest,
    ) -> Result<UpsertTemplateResponse, ApiError> {
        let mut c = Check::default();
        let opd = c.parse("opd_code", OpdCode::parse(&req.opd_code));
        if !valid_template_id(&req.template_id) {
            c.fail(
                "template_id",
                "1–64 lower-case letters, digits or '-', e.g. ktp-hilang",
            );
        }
        let title = c.text("title", &req.title, 1, 200);
        let body = c.text("body", &req.body, 1, 8000);
        let category = c.text("category", &req.category, 0, 64);
        let opd = c.done(opd)?;
        let row: Row = sqlx::query_as(
            "INSERT INTO answer_templates (opd_code, template_id, title, body, category)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (opd_code, template_id) DO UPDATE
               SET title = EXCLUDED.title, body = EXCLUDED.body, category = EXCLUDED.category,
                   updated_at = now()
             RETURNING opd_code, template_id, title, body, category, updated_at",
        )
        .bind(opd.as_str())
        .bind(&req.template_id)
        .bind(title)
        .bind(body)
        .bind(category)
        .fetch_one(&self.ctx.pool)
        .await?;
        Ok(UpsertTemplateResponse {
            template: Some(to_proto(row)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::valid_template_id;

    #[test]
    fn template_ids_are_url_safe_slugs() {
        assert!(valid_template_id("ktp-hilang-2"));
        for bad in ["", "KTP", "a b", "a_b", "é", &"x".repeat(65)] {
            assert!(!valid_template_id(bad), "{bad:?}");
        }
    }
}
