import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { screenXml } from './xml-guard.ts';

const envelope = (inner: string) =>
  `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${inner}</soap:Body></soap:Envelope>`;

describe('SOAP XML guard', () => {
  it('lets a plain envelope through', () => {
    assert.equal(screenXml(Buffer.from(envelope('<a>x &amp; &#65;</a>'))), undefined);
  });

  it('refuses a DOCTYPE in any case, an entity declaration, UTF-16 and oversized bodies', () => {
    for (const body of [
      `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${envelope('&e;')}`,
      `<!doctype x>${envelope('')}`,
      `<?xml version="1.0"?><!ENTITY e "x">${envelope('')}`,
    ]) {
      assert.equal(screenXml(Buffer.from(body))?.code, 'XML_FORBIDDEN', body);
    }
    assert.equal(screenXml(Buffer.from(`\ufeff${envelope('')}`, 'utf16le'))?.code, 'XML_FORBIDDEN');
    assert.equal(screenXml(Buffer.alloc(70_000, 'a'))?.code, 'PAYLOAD_TOO_LARGE');
  });
});
