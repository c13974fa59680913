/** The trigger form, generated from the DAG's params schema, with the server's field errors too. */
import { type FormEvent, useMemo, useState } from 'react';
import { ApiError } from '../api/client.js';
import { api } from '../api/endpoints.js';
import type { DagDetail, RunDetail } from '../api/types.js';
import { buildConf, hint, initialValues, paramFields, RUN_ID_FIELD, serverFieldErrors, type FormValues, type ParamField } from '../lib/params-form.js';
import { ErrorBox } from './bits.js';
import { Dialog } from './Dialog.js';

export function TriggerDialog({ dag, open, onClose, onTriggered }: { dag: DagDetail; open: boolean; onClose: () => void; onTriggered: (r: RunDetail) => void }) {
  const fields = useMemo(() => paramFields(dag.params_schema, dag.params_defaults), [dag]);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields));
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [runId, setRunId] = useState('');
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const [advanced, setAdvanced] = useState(false);
  const { conf, errors } = buildConf(fields, values);
  // Server errors with no field of their own in the form (an unknown param, another body field).
  const unplaced = Object.entries(serverErrors)
    .filter(([k]) => k !== RUN_ID_FIELD && !fields.some((f) => f.name === k))
    .map(([k, v]) => (k === '_form' ? v : `${k} ${v}`));
  const shownError = (name: string) => serverErrors[name] ?? ((touched[name] || submitted) ? errors[name] : undefined);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (Object.keys(errors).length) return;
    setBusy(true);
    setError(undefined);
    setServerErrors({});
    api.trigger(dag.dag_id, { conf, run_id: runId.trim() || undefined }).then(
      (r) => {
        setBusy(false);
        onTriggered(r);
      },
      (err: unknown) => {
        setBusy(false);
        if (err instanceof ApiError && err.status === 400 && err.details.length) {
          const byField = serverFieldErrors(err.details);
          setServerErrors(byField);
          if (byField[RUN_ID_FIELD]) setAdvanced(true);
        }
        setError(err);
      },
    );
  };

  const set = (name: string, v: string | boolean) => {
    setValues((old) => ({ ...old, [name]: v }));
    setServerErrors((old) => {
      const { [name]: _gone, ...rest } = old;
      return rest;
    });
  };

  return (
    <Dialog title={`Trigger ${dag.dag_id}`} open={open} onClose={onClose}>
      <form onSubmit={submit} noValidate className="trigger-form" aria-label={`trigger ${dag.dag_id}`}>
        {fields.length === 0 && <p className="muted">This DAG takes no params.</p>}
        {fields.map((f) => (
          <Field key={f.name} f={f} value={values[f.name]} error={shownError(f.name)} onChange={(v) => set(f.name, v)} onBlur={() => setTouched((t) => ({ ...t, [f.name]: true }))} />
        ))}
        <details open={advanced} onToggle={(e) => setAdvanced(e.currentTarget.open)}>
          <summary>Advanced</summary>
          <label>
            Run id <span className="muted small">(optional; letters, digits and _ . : + -)</span>
            <input
              name="run_id"
              value={runId}
              onChange={(e) => {
                setRunId(e.target.value);
                setServerErrors(({ [RUN_ID_FIELD]: _gone, ...rest }) => rest);
              }}
              aria-invalid={serverErrors[RUN_ID_FIELD] ? true : undefined}
              aria-describedby={serverErrors[RUN_ID_FIELD] ? 'run-id-error' : undefined}
            />
          </label>
          {serverErrors[RUN_ID_FIELD] && (
            <div id="run-id-error" className="field-error" role="alert">
              Run id {serverErrors[RUN_ID_FIELD]}
            </div>
          )}
          <div className="muted small">Conf sent:</div>
          <pre className="code small">{JSON.stringify(conf, null, 2)}</pre>
        </details>
        {error !== undefined && (error instanceof ApiError && error.status === 400 && error.details.length ? (
          <div className="error-box" role="alert">
            <strong>The run was not created.</strong> {error.message}
            {unplaced.length ? `: ${unplaced.join('; ')}` : '; the fields marked above say why.'}
          </div>
        ) : (
          <ErrorBox error={error} title="The run was not created" />
        ))}
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Triggering…' : 'Trigger run'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Field({ f, value, error, onChange, onBlur }: { f: ParamField; value: string | boolean | undefined; error?: string; onChange: (v: string | boolean) => void; onBlur: () => void }) {
  const id = `param-${f.name}`;
  const describedBy = `${id}-hint${error ? ` ${id}-error` : ''}`;
  const common = { id, name: f.name, onBlur, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy } as const;
  let input;
  if (f.kind === 'boolean') input = <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  else if (f.kind === 'enum')
    input = (
      <select {...common} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)}>
        {!f.required && <option value="">(default)</option>}
        {f.options!.map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  else if (f.kind === 'json') input = <textarea {...common} rows={3} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)} className="mono" />;
  else
    input = (
      <input
        {...common}
        type="text"
        inputMode={f.kind === 'integer' ? 'numeric' : f.kind === 'number' ? 'decimal' : undefined}
        value={String(value ?? '')}
        placeholder={f.defaultValue !== undefined ? String(f.defaultValue) : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  return (
    <div className={`field ${f.kind === 'boolean' ? 'check' : ''}`}>
      <label htmlFor={id}>
        {f.label}
        {f.required && <span aria-hidden="true"> *</span>}
      </label>
      {input}
      <div id={`${id}-hint`} className="muted small">
        {[f.description, hint(f)].filter(Boolean).join(' — ')}
      </div>
      {error && (
        <div id={`${id}-error`} className="field-error" role="alert">
          {f.label} {error}
        </div>
      )}
    </div>
  );
}
