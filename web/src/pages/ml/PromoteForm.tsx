/** Point an alias at a version, optionally behind a gate: the server decides and records why. */
import { type FormEvent, useState } from 'react';
import { mlApi, type ModelDetail, type PromoteBody, type PromotionResult } from '../../api/ml.js';
import { ErrorBox } from '../../components/bits.js';

export function PromoteForm({ model, metrics, initialVersion, onDone }: { model: ModelDetail; metrics: readonly string[]; initialVersion?: number; onDone: () => void }) {
  const [version, setVersion] = useState(String(initialVersion ?? ''));
  const [alias, setAlias] = useState('production');
  const [metric, setMetric] = useState('');
  const [direction, setDirection] = useState<'max' | 'min'>('max');
  const [margin, setMargin] = useState('0');
  const [against, setAgainst] = useState('production');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<PromotionResult>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    const body: PromoteBody = { alias: alias.trim() };
    if (metric) body.gate = { metric, direction, margin: Number(margin), against: against.trim() || undefined };
    try {
      setResult(await mlApi.promote(model.name, Number(version), body));
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="promote-form" onSubmit={submit} aria-label={`promote a version of ${model.name}`}>
      <label>
        Version
        <select value={version} onChange={(e) => setVersion(e.target.value)}>
          {[...model.versions].reverse().map((v) => (
            <option key={v.version} value={v.version}>
              v{v.version}
            </option>
          ))}
        </select>
      </label>
      <label>
        Alias
        <input value={alias} onChange={(e) => setAlias(e.target.value)} required />
      </label>
      <label>
        Gate metric
        <select value={metric} onChange={(e) => setMetric(e.target.value)}>
          <option value="">no gate</option>
          {metrics.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      {metric && (
        <>
          <label>
            Better when
            <select value={direction} onChange={(e) => setDirection(e.target.value as 'max' | 'min')}>
              <option value="max">higher</option>
              <option value="min">lower</option>
            </select>
          </label>
          <label>
            Margin
            <input type="number" step="any" min="0" value={margin} onChange={(e) => setMargin(e.target.value)} />
          </label>
          <label>
            Against alias
            <input value={against} onChange={(e) => setAgainst(e.target.value)} />
          </label>
        </>
      )}
      <button type="submit" className="primary" disabled={busy || !version}>
        {metric ? 'Promote if it beats the baseline' : 'Set alias'}
      </button>
      {result && (
        <div role="status" className={result.promoted ? 'banner info' : 'banner warn'} data-testid="promotion-result" style={{ flexBasis: '100%' }}>
          <strong>{result.promoted ? 'Promoted.' : 'Not promoted.'}</strong> {result.reason}
        </div>
      )}
      <div style={{ flexBasis: '100%' }}>
        <ErrorBox error={error} title="Promotion refused" />
      </div>
    </form>
  );
}
