import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { mqttLog } from './mqtt.ts';

describe('mqtt adapter: mqtt.js logging', () => {
  const client = (env: NodeJS.ProcessEnv) =>
    mqtt.connect('mqtt://127.0.0.1:9', { manualConnect: true, reconnectPeriod: 0, log: mqttLog(env) });

  it('is silent unless DEBUG is set: the per-packet debug calls cost nothing', () => {
    const c = client({});
    let wrote = false;
    const error = console.error;
    console.error = () => {
      wrote = true;
    };
    try {
      c.log('handlePublish: packet %o', { cmd: 'publish' });
    } finally {
      console.error = error;
    }
    assert.equal(wrote, false);
    assert.notEqual(c.log.name, 'debug');
  });

  it('with DEBUG set, mqtt.js keeps its own debug logger (DEBUG=mqttjs* works as documented)', () => {
    const c = client({ DEBUG: 'mqttjs*' });
    assert.equal(c.log.name, 'debug');
    assert.equal((c.log as unknown as { namespace: string }).namespace, 'mqttjs:client');
  });
});
