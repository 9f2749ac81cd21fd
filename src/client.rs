//! `ppgd push`: a Push Initiator on the command line. Builds a PAP push submission with an MMS
//! notification, an SI, an SL or a file as content, or a statusquery / cancel message, sends it,
//! prints the PAP answer, and exits non-zero unless the answer is a success (1xxx).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use bytes::Bytes;

use crate::mms::{FromAddress, NotificationInd, TimeValue};
use crate::notify::PapClient;
use crate::pap::{
    Address, CancelMessage, DeliveryMethod, PapDocument, PapMessage, PapVersion, PushMessage,
    QualityOfService, StatusQueryMessage, write_push_submission,
};
use crate::store::Priority;
use crate::util::UtcTime;
use crate::wbxml::{Document, ServiceIndication, ServiceLoading, SiAction, SlAction};
use crate::wsp::Version;

#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {
    /// The PPG's PAP URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/wappush")]
    pub url: String,
    /// For an https:// URL: a PEM file of the CA certificates to verify the PPG with.
    #[arg(long)]
    pub ca: Option<std::path::PathBuf>,
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
    /// Recipient: an E.164 number (+4917...) or a whole PAP address-value (WAPPUSH=...). Repeat for several.
    #[arg(long = "to")]
    pub to: Vec<String>,
    /// The push-id (default: generated).
    #[arg(long)]
    pub push_id: Option<String>,

    /// Content: an MMS m-notification-ind pointing at this X-Mms-Content-Location.
    #[arg(long, group = "content")]
    pub mms_location: Option<String>,
    /// X-Mms-Message-Size of the notification.
    #[arg(long, default_value_t = 30_000)]
    pub mms_size: u64,
    /// X-Mms-Expiry (relative) of the notification.
    #[arg(long, default_value = "1day", value_parser = humantime::parse_duration)]
    pub mms_expiry: Duration,
    /// From of the notification (address-present); default insert-address-token.
    #[arg(long)]
    pub mms_from: Option<String>,
    #[arg(long)]
    pub mms_subject: Option<String>,
    /// Content: a Service Indication with this href.
    #[arg(long, group = "content")]
    pub si_href: Option<String>,
    /// The SI's text.
    #[arg(long, default_value = "")]
    pub si_text: String,
    /// signal-none | signal-low | signal-medium | signal-high | delete
    #[arg(long)]
    pub si_action: Option<String>,
    /// Content: a Service Loading with this href.
    #[arg(long, group = "content")]
    pub sl_href: Option<String>,
    /// execute-low | execute-high | cache
    #[arg(long)]
    pub sl_action: Option<String>,
    /// Content: this file, sent with --content-type.
    #[arg(long, group = "content")]
    pub file: Option<PathBuf>,
    #[arg(long, requires = "file")]
    pub content_type: Option<String>,
    /// X-Wap-Application-Id of the content entity (default: by content type at the PPG).
    #[arg(long)]
    pub app_id: Option<String>,
    /// Send the content entity base64-encoded.
    #[arg(long)]
    pub base64: bool,

    /// delivery-method="confirmed": the PPG asks for delivery receipts.
    #[arg(long)]
    pub confirmed: bool,
    /// ppg-notify-requested-to: where the PPG POSTs the result notification.
    #[arg(long)]
    pub notify_to: Option<String>,
    /// deliver-after-timestamp (YYYY-MM-DDThh:mm:ssZ).
    #[arg(long)]
    pub deliver_after: Option<String>,
    /// deliver-before-timestamp (YYYY-MM-DDThh:mm:ssZ).
    #[arg(long)]
    pub deliver_before: Option<String>,
    /// high | medium | low
    #[arg(long)]
    pub priority: Option<String>,
    /// PAP version of the documents sent: 1.0 or 2.0.
    #[arg(long, default_value = "2.0")]
    pub pap_version: String,

    /// Send a statusquery-message for this push-id instead of a push.
    #[arg(long, conflicts_with_all = ["cancel", "content"])]
    pub status: Option<String>,
    /// Send a cancel-message for this push-id instead of a push.
    #[arg(long, conflicts_with = "content")]
    pub cancel: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

fn parse_address(text: &str) -> anyhow::Result<Address> {
    if text
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("wappush="))
    {
        Address::parse(text).map_err(|e| anyhow::anyhow!("--to {text}: {e}"))
    } else {
        let a = Address::plmn(text, None);
        a.msisdn()
            .map_err(|e| anyhow::anyhow!("--to {text}: {e}"))?;
        Ok(a)
    }
}

fn version(args: &PushArgs) -> anyhow::Result<PapVersion> {
    Ok(match args.pap_version.as_str() {
        "1.0" => PapVersion::V1_0,
        "2.0" => PapVersion::V2_0,
        "2.1" => PapVersion::V2_1,
        other => bail!("--pap-version {other}: use 1.0, 2.0 or 2.1"),
    })
}

fn timestamp(flag: &str, v: &Option<String>) -> anyhow::Result<Option<UtcTime>> {
    v.as_deref()
        .map(|t| UtcTime::parse_pap(t).with_context(|| format!("--{flag}")))
        .transpose()
}

/// The content entity: its headers and body.
/// The content entity's headers and body.
type Entity = (Vec<(String, String)>, Vec<u8>);

fn content(args: &PushArgs, push_id: &str) -> anyhow::Result<Entity> {
    let (ct, body) = if let Some(location) = &args.mms_location {
        let mut n = NotificationInd::new(
            push_id,
            Version::new(1, 2),
            args.mms_size,
            TimeValue::Relative(args.mms_expiry.as_secs()),
            location.clone(),
        );
        n.from = Some(match &args.mms_from {
            Some(f) => FromAddress::Present(crate::wsp::EncodedString::plain(f)),
            None => FromAddress::Insert,
        });
        n.subject = args
            .mms_subject
            .as_deref()
            .map(crate::wsp::EncodedString::utf8);
        ("application/vnd.wap.mms-message".to_string(), n.encode())
    } else if let Some(href) = &args.si_href {
        let action = match &args.si_action {
            Some(a) => Some(SiAction::parse(a).with_context(|| format!("--si-action {a}"))?),
            None => None,
        };
        let si = ServiceIndication {
            href: Some(href.clone()),
            si_id: Some(push_id.to_string()),
            action,
            created: Some(UtcTime::now()),
            si_expires: None,
            text: args.si_text.clone(),
            info: Vec::new(),
        };
        (
            "text/vnd.wap.si".to_string(),
            Document::Si(si).to_xml()?.into_bytes(),
        )
    } else if let Some(href) = &args.sl_href {
        let action = match &args.sl_action {
            Some(a) => Some(SlAction::parse(a).with_context(|| format!("--sl-action {a}"))?),
            None => None,
        };
        let sl = ServiceLoading {
            href: href.clone(),
            action,
        };
        (
            "text/vnd.wap.sl".to_string(),
            Document::Sl(sl).to_xml()?.into_bytes(),
        )
    } else if let Some(path) = &args.file {
        let ct = args
            .content_type
            .clone()
            .context("--file needs --content-type")?;
        (
            ct,
            std::fs::read(path).with_context(|| format!("--file {}", path.display()))?,
        )
    } else {
        bail!(
            "say what to push: --mms-location, --si-href, --sl-href or --file (or --status / --cancel)"
        );
    };
    let mut headers = vec![("Content-Type".to_string(), ct)];
    if let Some(app) = &args.app_id {
        headers.push(("X-Wap-Application-Id".to_string(), app.clone()));
    }
    if args.base64 {
        headers.push((
            "Content-Transfer-Encoding".to_string(),
            "base64".to_string(),
        ));
        let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
        // 76-character lines, as MIME writers do.
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        return Ok((headers, lines.join("\r\n").into_bytes()));
    }
    Ok((headers, body))
}

/// Builds the request: (Content-Type, body).
pub fn build_request(args: &PushArgs) -> anyhow::Result<(String, Vec<u8>)> {
    let version = version(args)?;
    let addresses = args
        .to
        .iter()
        .map(|t| parse_address(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let doc = |message| PapDocument {
        version,
        supported_versions: None,
        product_name: None,
        message,
    };
    if let Some(push_id) = &args.status {
        let d = doc(PapMessage::StatusQuery(StatusQueryMessage {
            push_id: push_id.clone(),
            addresses,
        }));
        return Ok(("application/xml".into(), d.to_xml().into_bytes()));
    }
    if let Some(push_id) = &args.cancel {
        let d = doc(PapMessage::Cancel(CancelMessage {
            push_id: push_id.clone(),
            addresses,
        }));
        return Ok(("application/xml".into(), d.to_xml().into_bytes()));
    }
    if addresses.is_empty() {
        bail!("--to is required for a push");
    }
    let push_id = args
        .push_id
        .clone()
        .unwrap_or_else(|| format!("ppgd-push-{}-{}", std::process::id(), UtcTime::now().0));
    let priority = match args.priority.as_deref() {
        None => None,
        Some("high") => Some(Priority::High),
        Some("medium") => Some(Priority::Medium),
        Some("low") => Some(Priority::Low),
        Some(other) => bail!("--priority {other}: use high, medium or low"),
    };
    let qos = (args.confirmed || priority.is_some()).then(|| QualityOfService {
        priority,
        delivery_method: args.confirmed.then_some(DeliveryMethod::Confirmed),
        ..Default::default()
    });
    let control = doc(PapMessage::Push(PushMessage {
        push_id: push_id.clone(),
        deliver_before: timestamp("deliver-before", &args.deliver_before)?,
        deliver_after: timestamp("deliver-after", &args.deliver_after)?,
        source_reference: Some("ppgd-push".into()),
        ppg_notify_requested_to: args.notify_to.clone(),
        progress_notes_requested: None,
        replace_push_id: None,
        replace_method: None,
        addresses,
        qos,
    }));
    let (headers, body) = content(args, &push_id)?;
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Ok(write_push_submission(&control, &header_refs, &body))
}

/// Basic credentials for the Authorization header.
pub fn basic_auth(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
    )
}

pub async fn run(args: PushArgs) -> anyhow::Result<()> {
    let (content_type, body) = build_request(&args)?;
    let auth = match (&args.username, &args.password) {
        (Some(u), Some(p)) => Some(basic_auth(u, p)),
        (None, None) => None,
        _ => bail!("give both --username and --password, or neither"),
    };
    let tls = args.ca.as_ref().map(|ca| crate::config::TlsClientConfig {
        ca: ca.clone(),
        server_name: None,
    });
    let client = PapClient::with_tls(Duration::from_secs(args.timeout), tls.as_ref())
        .map_err(|e| anyhow::anyhow!("--ca: {e}"))?;
    let reply = client
        .post(&args.url, &content_type, auth.as_deref(), Bytes::from(body))
        .await
        .with_context(|| format!("POST {}", args.url))?;
    println!("HTTP {}", reply.status);
    let text = String::from_utf8_lossy(&reply.body);
    println!("{}", text.trim_end());
    if !(200..300).contains(&reply.status) {
        bail!("the PPG answered HTTP {}", reply.status);
    }
    let doc = PapDocument::parse(&reply.body).context("the answer is not a PAP document")?;
    let failed: Vec<u16> = answer_codes(&doc.message)
        .into_iter()
        .filter(|c| !(1000..2000).contains(c))
        .collect();
    if !failed.is_empty() {
        bail!("the PPG answered PAP code(s) {failed:?}");
    }
    Ok(())
}

/// Every result code in a PPG answer.
pub fn answer_codes(message: &PapMessage) -> Vec<u16> {
    match message {
        PapMessage::PushResponse(r) => vec![r.result.code.as_u16()],
        PapMessage::BadMessageResponse(r) => vec![r.code.as_u16()],
        PapMessage::StatusQueryResponse(r) => r.results.iter().map(|x| x.code.as_u16()).collect(),
        PapMessage::CancelResponse(r) => r.results.iter().map(|x| x.code.as_u16()).collect(),
        PapMessage::CcqResponse(r) => vec![r.code.as_u16()],
        _ => Vec::new(),
    }
}
