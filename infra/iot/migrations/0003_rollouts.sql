-- Firmware rollouts and their jobs (one per target device), driven by the firmware orchestrator.
CREATE TABLE iot_rollouts (
  id                         uuid PRIMARY KEY,
  tenant                     text NOT NULL,
  version                    text NOT NULL,
  url                        text NOT NULL,
  checksum                   text NOT NULL,
  max_concurrent             integer NOT NULL,
  failure_threshold_percent  integer NOT NULL,
  min_executed               integer NOT NULL,
  job_timeout_ms             bigint NOT NULL,
  status                     text NOT NULL,
  reason                     text,
  created_at                 timestamptz NOT NULL,
  updated_at                 timestamptz NOT NULL
);
CREATE INDEX iot_rollouts_active ON iot_rollouts (created_at) WHERE status = 'IN_PROGRESS';

CREATE TABLE iot_jobs (
  id          uuid PRIMARY KEY,
  rollout_id  uuid NOT NULL REFERENCES iot_rollouts (id),
  tenant      text NOT NULL,
  device_id   text NOT NULL,
  position    integer NOT NULL,
  status      text NOT NULL,
  progress    integer NOT NULL,
  reason      text,
  sent_at     timestamptz,
  updated_at  timestamptz NOT NULL,
  version     integer NOT NULL,
  UNIQUE (rollout_id, position)
);
CREATE INDEX iot_jobs_by_device ON iot_jobs (tenant, device_id);
