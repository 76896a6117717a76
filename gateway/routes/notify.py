"""Notify endpoints: the inbox, notification preferences, agency webhooks and failed
deliveries (administrators)."""

from gateway.routes.table import ADMIN, STAFF, Route
from services.notify import schemas as notify

ROUTES = (
    Route("GET", "/inbox", STAFF, "站内通知: 本人及本角色辖区的通知, 未读在前", "notify",
          ("notify", "list_inbox"), query=notify.InboxQuery, response=notify.InboxPage),
    Route("POST", "/inbox/<item_id>/read", STAFF, "将通知标为已读", "notify",
          ("notify", "mark_read"), response=notify.InboxItemView),
    Route("GET", "/notify/preferences", STAFF, "本人的通知偏好(各优先级的渠道、免打扰时段)",
          "notify", ("notify", "get_preferences"), response=notify.NotifyPreferenceView),
    Route("PUT", "/notify/preferences", STAFF, "设置本人的通知偏好", "notify",
          ("notify", "set_preferences"), body=notify.NotifyPreferenceIn,
          response=notify.NotifyPreferenceView),
    Route("GET", "/notify/webhooks", ADMIN, "外部单位的事件订阅(Webhook)", "notify",
          ("notify", "list_webhooks"), response=notify.WebhookPage),
    Route("POST", "/notify/webhooks", ADMIN, "登记外部单位的事件订阅; 签名密钥仅返回一次",
          "notify", ("notify", "create_webhook"), body=notify.WebhookIn,
          response=notify.WebhookCreated, status=201),
    Route("POST", "/notify/webhooks/<subscription_id>/resume", ADMIN, "恢复已暂停的订阅",
          "notify", ("notify", "resume_webhook"), response=notify.WebhookView),
    Route("GET", "/notify/webhooks/<subscription_id>/deliveries", ADMIN,
          "订阅的投递记录(每次尝试及应答)", "notify", ("notify", "list_webhook_deliveries"),
          query=notify.NotifyPageQuery, response=notify.WebhookDeliveryPage),
    Route("GET", "/notify/failures", ADMIN, "最终失败的邮件与短信投递", "notify",
          ("notify", "list_failures"), query=notify.NotifyPageQuery,
          response=notify.FailedDeliveryPage),
    Route("POST", "/notify/failures/<delivery_id>/retry", ADMIN, "重试一条失败的投递", "notify",
          ("notify", "retry_failure"), response=notify.NotifyDeliveryRetried),
)
