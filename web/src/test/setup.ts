import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

// findBy*/waitFor wait up to 1 s by default: too short on a loaded machine; a failing query still fails.
configure({ asyncUtilTimeout: 5_000 });

afterEach(() => cleanup());
