-- Voicemails left in the IVR and post-call survey ratings are steps of the call's work order
-- (work_order_events kinds voicemail, voicemail_claimed, voicemail_released, voicemail_outcome,
-- voicemail_overdue; survey_started, survey): written by the journaled writer like every other
-- step, so nothing is lost while PostgreSQL is away. The server rebuilds the open messages from
-- them at start, and the statistics read each day's survey steps: both find them by kind and time.
CREATE INDEX IF NOT EXISTS work_order_events_voicemail ON work_order_events (at) WHERE kind LIKE 'voicemail%';
CREATE INDEX IF NOT EXISTS work_order_events_survey ON work_order_events (at) WHERE kind = 'survey';
