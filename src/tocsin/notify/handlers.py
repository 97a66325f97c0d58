"""The ``notify.deliver`` job: see :mod:`tocsin.notify.delivery` for its three steps
(claim in the job's transaction, send with no transaction open, record the outcome).
This module picks the sender for a channel type."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.jobs.models import Job
from tocsin.jobs.registry import AfterCommit, batch_handler, handler
from tocsin.notify import delivery
from tocsin.notify.channels import Channel, spec_from_dict
from tocsin.notify.channels.email import EmailSender
from tocsin.notify.channels.slack import SlackSender
from tocsin.notify.channels.sms import SmsSender
from tocsin.notify.channels.teams import TeamsSender
from tocsin.notify.channels.webhook import WebhookSender
from tocsin.notify.models import Notification
from tocsin.notify.service import DELIVER


def channel_for(row: Notification, clock: Clock) -> Channel:
    spec = spec_from_dict(row.payload["channel"])
    match spec.type:
        case "email":
            return EmailSender(spec, clock=clock)
        case "webhook":
            return WebhookSender(spec, clock=clock)
        case "slack":
            return SlackSender(spec)
        case "teams":
            return TeamsSender(spec)
        case "sms":
            return SmsSender(spec)
        case "slack_webhook":
            from tocsin.notify.channels.slack_webhook import SlackWebhookSender

            return SlackWebhookSender(spec)
        case "voice":
            from tocsin.notify.channels.voice import VoiceSender

            return VoiceSender(spec)
        case "apprise":
            # Imported when used: Apprise loads its plugins, which takes a while.
            from tocsin.notify.channels.apprise import AppriseSender

            return AppriseSender(spec)


@handler(DELIVER)
async def deliver(session: AsyncSession, job: Job, clock: Clock) -> AfterCommit | None:
    """Claim the row in the job's transaction; the send runs after it commits."""
    return await delivery.claim(session, job, clock, channel_for)


@batch_handler(DELIVER)
async def deliver_many(session: AsyncSession, jobs: list[Job], clock: Clock) -> AfterCommit | None:
    """Deliveries claimed together: one transaction, one statement per step for all of
    them, and their sends at the same time."""
    return await delivery.claim_many(session, jobs, clock, channel_for)
