//! `kenduren templates list|upsert`: an OPD's answer templates.

use anyhow::Result;
use clap::{Args, Subcommand};
use kenduren_proto::answering::v1::{ListTemplatesRequest, UpsertTemplateRequest};

use super::AnsweringTarget;

/// `kenduren templates …`.
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List your OPD's answer templates.
    List(TemplatesListArgs),
    /// Create or replace one of your OPD's answer templates.
    Upsert(TemplatesUpsertArgs),
}

/// Options of `kenduren templates list`.
#[derive(Debug, Args)]
pub struct TemplatesListArgs {
    #[command(flatten)]
    pub target: AnsweringTarget,
    /// The OPD (default: the OPD of the token; admins must name one).
    #[arg(long, default_value = "")]
    pub opd: String,
    /// Items per page.
    #[arg(long, default_value_t = 50)]
    pub page_size: i32,
    /// Continue after this token.
    #[arg(long, default_value = "")]
    pub page_token: String,
}

/// Options of `kenduren templates upsert`.
#[derive(Debug, Args)]
pub struct TemplatesUpsertArgs {
    #[command(flatten)]
    pub target: AnsweringTarget,
    /// Template id: lower-case letters, digits and '-', e.g. ktp-hilang.
    pub template_id: String,
    /// Short title.
    #[arg(long)]
    pub title: String,
    /// The answer text.
    #[arg(long)]
    pub body: String,
    /// Category it fits, e.g. kependudukan.
    #[arg(long, default_value = "")]
    pub category: String,
}

/// Runs `kenduren templates …`.
pub async fn templates(command: TemplatesCommand) -> Result<()> {
    match command {
        TemplatesCommand::List(args) => {
            let page = args
                .target
                .client()
                .await?
                .list_templates(ListTemplatesRequest {
                    opd_code: args.opd,
                    page_size: args.page_size,
                    page_token: args.page_token,
                })
                .await?
                .into_inner();
            if page.templates.is_empty() {
                println!("(no templates)");
            }
            for t in page.templates {
                println!("{}  [{}]  {}\n    {}", t.template_id, t.category, t.title, t.body);
            }
            if !page.next_page_token.is_empty() {
                println!("next page: --page-token {}", page.next_page_token);
            }
        }
        TemplatesCommand::Upsert(args) => {
            let r = args
                .target
                .client()
                .await?
                .upsert_template(UpsertTemplateRequest {
                    opd_code: String::new(),
                    template_id: args.template_id,
                    title: args.title,
                    body: args.body,
                    category: args.category,
                })
                .await?
                .into_inner();
            let id = r.template.map(|t| t.template_id).unwrap_or_default();
            println!("template {id} saved");
        }
    }
    Ok(())
}
