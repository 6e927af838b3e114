import { telemetryWindowsContract } from './telemetry-windows.contract.test.ts';
import { memoryWindows } from './testing.ts';

telemetryWindowsContract('memory', memoryWindows);
