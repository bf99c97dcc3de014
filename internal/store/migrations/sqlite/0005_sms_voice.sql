-- SMS and voice: short alert numbers for replies, and the verification of
-- phone numbers, SQLite dialect.

-- A short number per person and alert, so that a page can say "Reply ACK 4"
-- and the answer names one alert. Assigned when a page about the alert to
-- the person is claimed; a number is held while its alert is open, and the
-- lowest number not held is given next, so numbers stay small. The row of a
-- resolved alert stays until its number is given again: a late "RES 4" is
-- then told the alert is resolved, not that 4 means nothing.
CREATE TABLE alert_numbers (
    user_id    INTEGER NOT NULL,
    number     INTEGER NOT NULL,
    alert_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, number)
);
CREATE UNIQUE INDEX alert_numbers_alert ON alert_numbers (user_id, alert_id);

-- The verification code last sent to an SMS or voice number: only its hash,
-- when it was sent and expires, and how many wrong codes were tried against
-- it. All NULL (attempts 0) when no code is outstanding.
ALTER TABLE contact_methods ADD COLUMN verify_code_hash BLOB;
ALTER TABLE contact_methods ADD COLUMN verify_sent_at INTEGER;
ALTER TABLE contact_methods ADD COLUMN verify_expires_at INTEGER;
ALTER TABLE contact_methods ADD COLUMN verify_attempts INTEGER NOT NULL DEFAULT 0;
-- An SMS reply is matched to its sender by the number it came from.
CREATE INDEX contact_methods_phone ON contact_methods (type, address);

-- What a job must carry to be sent after a crash that the rest of the
-- database cannot rebuild: a verification code. Cleared once the job is
-- sent, fails, or is suppressed.
ALTER TABLE notifications ADD COLUMN payload TEXT NOT NULL DEFAULT '';
-- A key pressed during a page call answers every alert the call read: the
-- notifications its message carried.
CREATE INDEX notifications_bundle ON notifications (bundle_id) WHERE bundle_id IS NOT NULL;
