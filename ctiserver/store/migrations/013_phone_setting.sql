-- Where a person takes their calls: 'desk' (a hardware or desktop softphone registered with
-- their SIP account, the default) or 'browser' (the panel's own WebRTC phone, which registers
-- over Asterisk's websocket after sign-in). The admin sets it; ctiserver/webphone turns the
-- person's realtime endpoint into a WebRTC one (DTLS-SRTP, ICE) when it is 'browser'.
ALTER TABLE agents
    ADD COLUMN phone text NOT NULL DEFAULT 'desk' CHECK (phone IN ('desk', 'browser'));
