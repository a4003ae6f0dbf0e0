//! The body of [`LineageQueries`](super::LineageQueries), the same text for both backends
//! (like `governance_impl!`): every column is decoded as text or a number, so one body runs
//! on either pool. Invoked in `sqlite/journey.rs` and `postgres/journey.rs`.

/// `$store` has a `pool` field, and `$dialect` picks the statements.
macro_rules! journey_impl {
    ($store:ty, $dialect:expr) => {
        impl $crate::store::LineageQueries for $store {
            fn facts_by_id<'a>(
                &'a self,
                transaction_id: &'a str,
            ) -> futures::future::BoxFuture<
                'a,
                Result<$crate::store::IdFacts, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    use sqlx::Row;
                    let s = $crate::store::journey::statements($dialect);
                    let mut out = $crate::store::IdFacts::default();
                    for (table, text) in [("transactions", &s.row[0]), ("quarantine", &s.row[1])] {
                        let Some(r) = sqlx::query(text)
                            .bind(transaction_id)
                            .fetch_optional(&self.pool)
                            .await?
                        else {
                            continue;
                        };
                        let encrypted = $crate::store::journey::ENCRYPTED_FIELDS
                            .iter()
                            .enumerate()
                            .filter_map(|(i, f)| match r.try_get::<bool, _>(22 + i) {
                                Ok(true) => Some(Ok(*f)),
                                Ok(false) => None,
                                Err(e) => Some(Err(e)),
                            })
                            .collect::<Result<Vec<_>, sqlx::Error>>()?;
                        let json = $crate::store::governance::json_text;
                        out.row = Some($crate::store::RowFacts {
                            table,
                            transaction_id: r.try_get(0)?,
                            account_id: r.try_get(1)?,
                            timestamp: r.try_get(2)?,
                            amount: r.try_get(3)?,
                            currency: r.try_get(4)?,
                            merchant: r.try_get(5)?,
                            mcc: r.try_get(6)?,
                            country: r.try_get(7)?,
                            channel: r.try_get(8)?,
                            category: r.try_get(9)?,
                            encrypted_fields: encrypted,
                            key_id: r.try_get(10)?,
                            risk_score: r.try_get(11)?,
                            findings: json(r.try_get(12)?),
                            decision: r.try_get(13)?,
                            reasons: json(r.try_get(14)?),
                            policy_version: r.try_get(15)?,
                            position: $crate::store::SourcePosition {
                                source: r.try_get(16)?,
                                partition: r.try_get(17)?,
                                offset: r.try_get(18)?,
                            },
                            received_at: r.try_get(19)?,
                            committed_at: r.try_get(20)?,
                            pii_removed: r.try_get::<Option<String>, _>(21)?.map(json),
                        });
                        break;
                    }
                    let entries = sqlx::query(&$dialect.sql().decisions_for)
                        .bind(transaction_id)
                        .fetch_all(&self.pool)
                        .await?;
                    if let Some(r) = entries.first() {
                        out.decision = Some($crate::store::governance::decode_entry!(r)?);
                    }
                    for r in sqlx::query(&s.dead_letters_with_id)
                        .bind(transaction_id)
                        .fetch_all(&self.pool)
                        .await?
                    {
                        out.dead_letters
                            .push($crate::store::journey_impl::dead_letter!(&r));
                    }
                    for r in sqlx::query(&s.replays_of)
                        .bind(transaction_id)
                        .fetch_all(&self.pool)
                        .await?
                    {
                        out.replays.push($crate::store::ReplayFacts {
                            position: $crate::store::SourcePosition {
                                source: r.try_get(0)?,
                                partition: r.try_get(1)?,
                                offset: r.try_get(2)?,
                            },
                            seen_at: r.try_get(3)?,
                        });
                    }
                    Ok(out)
                })
            }

            fn facts_at<'a>(
                &'a self,
                at: &'a $crate::store::SourcePosition,
            ) -> futures::future::BoxFuture<
                'a,
                Result<$crate::store::PositionFacts, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    let s = $crate::store::journey::statements($dialect);
                    let mut out = $crate::store::PositionFacts::default();
                    if let Some(r) = sqlx::query(&s.dead_letter_at)
                        .bind(&at.source)
                        .bind(at.partition)
                        .bind(at.offset)
                        .fetch_optional(&self.pool)
                        .await?
                    {
                        out.dead_letter = Some($crate::store::journey_impl::dead_letter!(&r));
                    }
                    let id_at = |text: &'static str| {
                        sqlx::query_scalar::<_, String>(text)
                            .bind(&at.source)
                            .bind(at.partition)
                            .bind(at.offset)
                            .fetch_optional(&self.pool)
                    };
                    for text in &s.row_at {
                        out.row = id_at(text.as_str()).await?;
                        if out.row.is_some() {
                            break;
                        }
                    }
                    out.replay_of = id_at(s.replay_at.as_str()).await?;
                    Ok(out)
                })
            }

            fn publications_of<'a>(
                &'a self,
                at: &'a $crate::store::SourcePosition,
            ) -> futures::future::BoxFuture<
                'a,
                Result<Vec<$crate::store::PublicationFacts>, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    use sqlx::Row;
                    let s = $crate::store::journey::statements($dialect);
                    let mut out = Vec::new();
                    for r in sqlx::query(&s.publications_of)
                        .bind(&at.source)
                        .bind(at.partition)
                        .bind(at.offset)
                        .fetch_all(&self.pool)
                        .await?
                    {
                        out.push($crate::store::PublicationFacts {
                            topic: r.try_get(0)?,
                            partition: Some(r.try_get(1)?),
                            offset: Some(r.try_get(2)?),
                            published_at: Some(r.try_get(3)?),
                        });
                    }
                    for r in sqlx::query(&s.pending_publications_of)
                        .bind(&at.source)
                        .bind(at.partition.to_string())
                        .bind(at.offset.to_string())
                        .fetch_all(&self.pool)
                        .await?
                    {
                        out.push($crate::store::PublicationFacts {
                            topic: r.try_get(0)?,
                            partition: r.try_get(1)?,
                            offset: None,
                            published_at: None,
                        });
                    }
                    Ok(out)
                })
            }

            fn export_covering(
                &self,
                seq: i64,
            ) -> futures::future::BoxFuture<
                '_,
                Result<Option<$crate::store::LedgerFacts>, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    use sqlx::Row;
                    let s = $crate::store::journey::statements($dialect);
                    let Some(r) = sqlx::query(&s.export_covering)
                        .bind(seq)
                        .fetch_optional(&self.pool)
                        .await?
                    else {
                        return Ok(None);
                    };
                    let end: i64 = r.try_get(1)?;
                    if end < seq {
                        return Ok(None);
                    }
                    let objects: String = r.try_get(3)?;
                    Ok(Some($crate::store::LedgerFacts {
                        start_seq: r.try_get(0)?,
                        end_seq: end,
                        status: r.try_get(2)?,
                        objects: serde_json::from_str(&objects).map_err(|e| {
                            $crate::store::StoreError::Corrupt(format!(
                                "export_ledger.objects of the range ending at {end}: {e}"
                            ))
                        })?,
                        finished_at: r.try_get(4)?,
                    }))
                })
            }

            fn workflow_of<'a>(
                &'a self,
                workflow_id: &'a str,
            ) -> futures::future::BoxFuture<
                'a,
                Result<Option<$crate::store::Investigation>, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    use sqlx::Row;
                    let s = $dialect.sql();
                    let json = $crate::store::governance::json_text;
                    let Some(w) = sqlx::query(&s.workflow_row)
                        .bind(workflow_id)
                        .fetch_optional(&self.pool)
                        .await?
                    else {
                        return Ok(None);
                    };
                    let mut inv = $crate::store::Investigation {
                        workflow_id: workflow_id.to_owned(),
                        status: w.try_get(0)?,
                        next_step: i64::from(w.try_get::<i32, _>(1)?),
                        attempts: i64::from(w.try_get::<i32, _>(2)?),
                        created_at: w.try_get(3)?,
                        updated_at: w.try_get(4)?,
                        completed_at: w.try_get(5)?,
                        steps: Vec::new(),
                        case: None,
                    };
                    for r in sqlx::query(&s.workflow_steps)
                        .bind(workflow_id)
                        .fetch_all(&self.pool)
                        .await?
                    {
                        inv.steps.push($crate::store::InvestigationStep {
                            index: i64::from(r.try_get::<i32, _>(0)?),
                            name: r.try_get(1)?,
                            output: json(r.try_get(2)?),
                            at: r.try_get(3)?,
                        });
                    }
                    if let Some(r) = sqlx::query(&s.investigation_case)
                        .bind(workflow_id)
                        .fetch_optional(&self.pool)
                        .await?
                    {
                        inv.case = Some($crate::store::InvestigationCase {
                            decision: r.try_get(0)?,
                            score: r.try_get(1)?,
                            factors: json(r.try_get(2)?),
                            note: r.try_get(3)?,
                            decided_at: r.try_get(4)?,
                        });
                    }
                    Ok(Some(inv))
                })
            }

            fn erasure_of<'a>(
                &'a self,
                account_id: &'a str,
            ) -> futures::future::BoxFuture<
                'a,
                Result<$crate::store::ErasureFacts, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    let s = $crate::store::journey::statements($dialect);
                    let erasures: Vec<(String, Option<String>)> = sqlx::query_as(&s.erasures_of)
                        .bind(account_id)
                        .fetch_all(&self.pool)
                        .await?;
                    let current_key_id: Option<String> = sqlx::query_scalar(s.current_key_of)
                        .bind(account_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok($crate::store::ErasureFacts {
                        erasures,
                        current_key_id,
                    })
                })
            }

            fn chain_verified_through(
                &self,
                seq: i64,
            ) -> futures::future::BoxFuture<
                '_,
                Result<$crate::store::VerifyReport, $crate::store::StoreError>,
            > {
                Box::pin(async move { $crate::store::audit_verify_range(self, 1, seq).await })
            }
        }
    };
}
pub(crate) use journey_impl;

/// Decodes one row of the dead-letter columns into a `DeadLetterFacts`; `?` on errors.
macro_rules! dead_letter {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        $crate::store::DeadLetterFacts {
            position: $crate::store::SourcePosition {
                source: r.try_get(0)?,
                partition: r.try_get(1)?,
                offset: r.try_get(2)?,
            },
            transaction_id: r.try_get(3)?,
            reason: r.try_get(4)?,
            detail: r.try_get(5)?,
            received_at: r.try_get(6)?,
            committed_at: r.try_get(7)?,
        }
    }};
}
pub(crate) use dead_letter;
