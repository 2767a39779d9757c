"""A loopback stand-in for Alipay's open-platform gateway (`alipay.system.oauth.token`)."""
