-- The app release each device last synced with, for the device list. Empty
-- for devices that have not synced since, or whose app does not say.
ALTER TABLE devices ADD COLUMN app_version text NOT NULL DEFAULT '';
