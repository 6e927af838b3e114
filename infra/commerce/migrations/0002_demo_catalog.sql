-- Demo catalog for local use and tests (prices in cents).
INSERT INTO products (id, sku, name, description, price_cents, currency, stock) VALUES
  ('p-keyboard',  'KB-001',  'Mechanical keyboard', 'Tenkeyless, hot-swappable switches', 12900, 'USD', 500),
  ('p-mouse',     'MS-001',  'Wireless mouse',      'Ergonomic, 4000 dpi',                4900, 'USD', 1000),
  ('p-monitor',   'MN-027',  '27" monitor',         '1440p, 165 Hz',                      32900, 'USD', 200),
  ('p-headset',   'HS-001',  'Headset',             'Closed-back, USB-C',                 8900, 'USD', 300),
  ('p-webcam',    'WC-001',  'Webcam',              '1080p, autofocus',                   6900, 'USD', 400),
  ('p-dock',      'DK-001',  'USB-C dock',          '11-in-1',                            15900, 'USD', 150),
  ('p-cable',     'CB-001',  'USB-C cable',         '2 m, 100 W',                         1500, 'USD', 5000),
  ('p-stand',     'ST-001',  'Laptop stand',        'Aluminium',                          3900, 'USD', 600)
ON CONFLICT (id) DO NOTHING;
