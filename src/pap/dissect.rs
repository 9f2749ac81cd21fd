//! `ppgd decode` support: a PAP document as an indented tree of its fields, values in full.

use super::address::Address;
use super::document::*;
use crate::decode::Dissection;
use crate::util::datetime::UtcTime;

fn opt(d: &mut Dissection, label: &str, v: &Option<String>) {
    if let Some(v) = v {
        d.field(label, v);
    }
}

fn time(d: &mut Dissection, label: &str, v: &Option<UtcTime>) {
    if let Some(v) = v {
        d.field(label, v.format_pap());
    }
}

fn addresses(d: &mut Dissection, addrs: &[Address]) {
    for a in addrs {
        d.nest("address", |d| {
            d.field("address-value", &a.raw);
            d.field("type", a.kind.as_str());
            d.field("value", &a.value);
            for q in &a.qualifiers {
                d.field("qualifier", q);
            }
            opt(d, "ppg", &a.ppg);
            if let Ok(m) = a.msisdn() {
                d.field("msisdn", m);
            }
        });
    }
}

fn qos(d: &mut Dissection, q: &Option<QualityOfService>) {
    if let Some(q) = q {
        d.nest("quality-of-service", |d| {
            if let Some(p) = q.priority {
                d.field("priority", format!("{p:?}").to_ascii_lowercase());
            }
            if let Some(m) = q.delivery_method {
                d.field("delivery-method", m.as_str());
            }
            opt(d, "network", &q.network);
            if let Some(b) = q.network_required {
                d.field("network-required", b);
            }
            opt(d, "bearer", &q.bearer);
            if let Some(b) = q.bearer_required {
                d.field("bearer-required", b);
            }
        });
    }
}

fn code(d: &mut Dissection, c: super::code::PapCode, desc: &Option<String>) {
    d.field("code", format!("{} ({})", c.as_u16(), c.meaning()));
    opt(d, "desc", desc);
}

impl PapDocument {
    /// Writes the document's fields into `d` (for `ppgd decode`).
    pub fn dissect(&self, d: &mut Dissection) {
        d.nest(
            format!("PAP {} {}", self.version.as_str(), self.message.element()),
            |d| {
                opt(d, "supported-versions", &self.supported_versions);
                opt(d, "product-name", &self.product_name);
                match &self.message {
                    PapMessage::Push(p) => {
                        d.field("push-id", &p.push_id);
                        time(d, "deliver-before-timestamp", &p.deliver_before);
                        time(d, "deliver-after-timestamp", &p.deliver_after);
                        opt(d, "source-reference", &p.source_reference);
                        opt(d, "ppg-notify-requested-to", &p.ppg_notify_requested_to);
                        if let Some(b) = p.progress_notes_requested {
                            d.field("progress-notes-requested", b);
                        }
                        opt(d, "replace-push-id", &p.replace_push_id);
                        if let Some(m) = p.replace_method {
                            d.field("replace-method", format!("{m:?}"));
                        }
                        addresses(d, &p.addresses);
                        qos(d, &p.qos);
                    }
                    PapMessage::StatusQuery(StatusQueryMessage {
                        push_id,
                        addresses: a,
                    })
                    | PapMessage::Cancel(CancelMessage {
                        push_id,
                        addresses: a,
                    }) => {
                        d.field("push-id", push_id);
                        addresses(d, a);
                    }
                    PapMessage::Ccq(c) => {
                        d.field("query-id", &c.query_id);
                        opt(d, "app-id", &c.app_id);
                        addresses(d, std::slice::from_ref(&c.address));
                    }
                    PapMessage::ResultNotificationResponse(r) => {
                        d.field("push-id", &r.push_id);
                        code(d, r.code, &r.desc);
                        addresses(d, &r.addresses);
                    }
                    PapMessage::PushResponse(r) => {
                        d.field("push-id", &r.push_id);
                        opt(d, "sender-address", &r.sender_address);
                        opt(d, "sender-name", &r.sender_name);
                        time(d, "reply-time", &r.reply_time);
                        for n in &r.progress_notes {
                            d.nest("progress-note", |d| {
                                d.field("stage", &n.stage);
                                opt(d, "note", &n.note);
                                time(d, "time", &n.time);
                            });
                        }
                        d.nest("response-result", |d| {
                            code(d, r.result.code, &r.result.desc)
                        });
                    }
                    PapMessage::BadMessageResponse(r) => {
                        code(d, r.code, &r.desc);
                        opt(d, "bad-message-fragment", &r.bad_message_fragment);
                    }
                    PapMessage::StatusQueryResponse(r) => {
                        d.field("push-id", &r.push_id);
                        for s in &r.results {
                            d.nest("statusquery-result", |d| {
                                d.field("message-state", s.message_state.as_str());
                                code(d, s.code, &s.desc);
                                time(d, "event-time", &s.event_time);
                                addresses(d, &s.addresses);
                                qos(d, &s.qos);
                            });
                        }
                    }
                    PapMessage::CancelResponse(r) => {
                        d.field("push-id", &r.push_id);
                        for c in &r.results {
                            d.nest("cancel-result", |d| {
                                code(d, c.code, &c.desc);
                                addresses(d, &c.addresses);
                            });
                        }
                    }
                    PapMessage::ResultNotification(r) => {
                        d.field("push-id", &r.push_id);
                        opt(d, "sender-address", &r.sender_address);
                        opt(d, "sender-name", &r.sender_name);
                        time(d, "received-time", &r.received_time);
                        time(d, "event-time", &r.event_time);
                        d.field("message-state", r.message_state.as_str());
                        code(d, r.code, &r.desc);
                        addresses(d, std::slice::from_ref(&r.address));
                        qos(d, &r.qos);
                    }
                    PapMessage::CcqResponse(r) => {
                        d.field("query-id", &r.query_id);
                        code(d, r.code, &r.desc);
                        addresses(d, std::slice::from_ref(&r.address));
                    }
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dissects_a_push_message_in_full() {
        let doc = PapDocument::parse(
            b"<pap><push-message push-id=\"p1\" deliver-before-timestamp=\"2026-11-26T12:00:00Z\">\
              <address address-value=\"WAPPUSH=+4477-00/TYPE=PLMN@ppg\"/>\
              <quality-of-service priority=\"high\"/></push-message></pap>",
        )
        .unwrap();
        let mut d = Dissection::new();
        doc.dissect(&mut d);
        assert_eq!(
            d.to_string(),
            "PAP 2.0 push-message\n  push-id: p1\n  deliver-before-timestamp: 2026-11-26T12:00:00Z\n  \
             address\n    address-value: WAPPUSH=+4477-00/TYPE=PLMN@ppg\n    type: PLMN\n    \
             value: +4477-00\n    ppg: ppg\n    msisdn: 447700\n  quality-of-service\n    priority: high\n"
        );
    }
}
