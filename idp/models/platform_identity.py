"""Platform identities (a WeChat or Alipay user as one mini-program app sees them) linked to a
person, and the one-time tickets that let a person link one from Tongban's own login page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class PlatformIdentity(db.Model):
    """`(platform, appid, openid)` is what the platform's own API returned for one app; the
    `unionid` (WeChat) is the same person across the apps of one platform account."""

    __tablename__ = "platform_identity"
    __table_args__ = (
        UniqueConstraint("platform", "appid", "openid"),
        Index("ix_platform_identity_unionid", "platform", "unionid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    #: "wechat" or "alipay"
    platform: Mapped[str] = mapped_column(String(16))
    appid: Mapped[str] = mapped_column(String(64))
    #: WeChat openid, Alipay open_id (or the older user_id)
    openid: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128))
    #: the client whose exchange (or binding ticket) created the link
    client_id: Mapped[str | None] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class BindingTicket(db.Model):
    """Proof that the platform API vouched for (platform, appid, openid) a moment ago, handed to
    the client that asked (its audience) so the person can link that identity by logging in.

    Single use and short-lived: the ticket is claimed by the first browser that opens it, within
    its lifetime; the link can only be made for this identity, from that browser, once."""

    __tablename__ = "binding_ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the client (client_id) that received the ticket: its audience
    client_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(16))
    appid: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    #: set atomically when a browser opens the ticket; a second opening finds it set
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: hash of the browser binding of the browser that claimed it
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    #: set once the identity was linked (or the person declined)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
