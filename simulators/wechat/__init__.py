"""A loopback stand-in for WeChat's mini-program login API (`code2Session`)."""
