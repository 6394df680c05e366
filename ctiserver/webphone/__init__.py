"""The panel's browser phone: a person's ``phone`` setting (desk or browser), their realtime
endpoint made a WebRTC one when it is the browser, and the credentials the signed-in panel
registers with over Asterisk's websocket."""
