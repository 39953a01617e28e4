import { useEffect, useState } from 'preact/hooks';
import { api, type PolicyDocument } from './api.ts';

/** Nested policy keys as dotted rows (`bandwidth.timetable`), as config.json spells them. */
function flatten(doc: unknown, prefix = ''): Array<[string, string]> {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [[prefix, JSON.stringify(doc)]];
  return Object.entries(doc as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

export function PolicyView() {
  const [policy, setPolicy] = useState<PolicyDocument | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api.policy().then(setPolicy, (err: Error) => setError(err.message));
  }, []);
  if (error !== undefined) return <div class="error-box">{error}</div>;
  if (policy === undefined) return <p>Loading…</p>;
  return (
    <section data-testid="policy">
      <h2>Policy</h2>
      <p class="hint">
        In force now (config.json and defaults; see docs/scheduling.md). Change it with{' '}
        <code>bitsadmin /util /setpolicy</code>.
      </p>
      <table class="props">
        <tbody>
          {flatten(policy).map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>
                <code>{v}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
