"""Local accounts: Argon2 password hashes, access tokens (JWT), the bootstrap administrator."""

from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.models import Account, LoginFailure
from services.chassis import clock
from services.chassis.actor import Actor
from services.chassis.errors import (
    Conflict,
    NotFound,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)

ROLES = ("district_admin", "township_officer", "liaison", "cppcc_member",
         "discipline_inspector", "department_officer")
AUDIENCE = "yuelihui-api"
TOKEN_LIFETIME = timedelta(hours=1)
MIN_PASSWORD = 8
MAX_FAILURES = 5  # per username and client address within FAILURE_WINDOW
MAX_FAILURES_PER_USERNAME = 50  # from all addresses: slows guessing spread over many
FAILURE_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()
# verifying against this when the user does not exist keeps timing alike for both cases
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def create(session: Session, username: str, password: str, role: str, *, person_id=None,
           townships=(), villages=(), display_name="") -> Account:
    if role not in ROLES:
        raise ValidationFailed("角色无效", {"role": ["取值应为: " + ", ".join(ROLES)]})
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed("密码过短", {"password": [f"至少 {MIN_PASSWORD} 个字符"]})
    if session.get(Account, username) is not None:
        raise Conflict("账号已存在", {"username": ["已存在"]})
    account = Account(username=username, password_hash=_hasher.hash(password), role=role,
                      person_id=person_id or None, townships=list(townships),
                      villages=list(villages), display_name=display_name, active=True,
                      created_at=clock.now())
    session.add(account)
    return account


def ensure(session: Session, username: str, password: str, role: str, **kwargs) -> bool:
    """Create the account unless it exists (safe when several gateways start at once)."""
    if session.get(Account, username) is not None:
        return False
    try:
        with session.begin_nested():
            create(session, username, password, role, **kwargs)
    except IntegrityError:
        return False
    return True


def set_password(session: Session, username: str, password: str) -> None:
    account = _get(session, username)
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed("密码过短", {"password": [f"至少 {MIN_PASSWORD} 个字符"]})
    account.password_hash = _hasher.hash(password)


def disable(session: Session, username: str) -> None:
    _get(session, username).active = False


def _get(session: Session, username: str) -> Account:
    account = session.get(Account, username)
    if account is None:
        raise NotFound("账号不存在")
    return account


def authenticate(session: Session, username: str, password: str) -> Account:
    account = session.scalar(select(Account).where(Account.username == username))
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except VerificationError:
        account = None
    if account is None or not account.active:
        raise Unauthenticated("用户名或密码错误")
    return account


def refuse_if_throttled(session: Session, username: str, client: str) -> None:
    """Guessing passwords: after MAX_FAILURES from one address in FAILURE_WINDOW that address
    is refused for the username (others, the account's owner among them, are not locked out),
    and after MAX_FAILURES_PER_USERNAME from anywhere the username is."""
    since = clock.now() - FAILURE_WINDOW
    recent = select(func.count()).select_from(LoginFailure).where(
        LoginFailure.username == username, LoginFailure.failed_at >= since)
    from_client = session.scalar(recent.where(LoginFailure.client == client))
    if from_client >= MAX_FAILURES or session.scalar(recent) >= MAX_FAILURES_PER_USERNAME:
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        raise RateLimited(f"登录失败次数过多, 请 {minutes} 分钟后再试")


def record_failure(session: Session, username: str, client: str) -> None:
    session.execute(delete(LoginFailure).where(
        LoginFailure.failed_at < clock.now() - FAILURE_WINDOW))
    session.add(LoginFailure(username=username, client=client, failed_at=clock.now()))


def issue_token(account: Account, secret: str) -> dict:
    issued = clock.now()
    claims = {"sub": account.username, "aud": AUDIENCE, "iat": issued,
              "exp": issued + TOKEN_LIFETIME, "role": account.role,
              "person_id": account.person_id, "townships": account.townships,
              "villages": account.villages}
    return {"access_token": jwt.encode(claims, secret, algorithm="HS256"),
            "token_type": "Bearer", "expires_in": int(TOKEN_LIFETIME.total_seconds())}


def actor_from_token(token: str, secret: str) -> Actor:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["exp", "sub"], "verify_exp": False,
                                     "verify_iat": False})
    except jwt.PyJWTError as exc:
        raise Unauthenticated("访问令牌无效") from exc
    if claims["exp"] < clock.now().timestamp():
        raise Unauthenticated("访问令牌已过期")
    return Actor(roles=(claims["role"],), username=claims["sub"],
                 person_id=claims.get("person_id"),
                 townships=tuple(claims.get("townships") or ()),
                 villages=tuple(claims.get("villages") or ()))
