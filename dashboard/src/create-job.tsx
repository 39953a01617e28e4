import { useState } from 'preact/hooks';
import { api } from './api.ts';

interface FileRow {
  remoteName: string;
  localName: string;
}

/** A new download: a name, files (URL → absolute destination), a priority; resumed at once unless asked not to. */
export function CreateJob({ onCreated }: { onCreated(id: string): void }) {
  const [name, setName] = useState('');
  const [files, setFiles] = useState<FileRow[]>([{ remoteName: '', localName: '' }]);
  const [priority, setPriority] = useState('NORMAL');
  const [start, setStart] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const update = (i: number, field: keyof FileRow, value: string) =>
    setFiles(files.map((f, j) => (j === i ? { ...f, [field]: value } : f)));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    let id: string | undefined;
    try {
      id = (await api.create(name.trim() || 'download')).id;
      await api.addFiles(
        id,
        files
          .filter((f) => f.remoteName.trim() !== '')
          .map((f) => ({ remoteName: f.remoteName.trim(), localName: f.localName.trim() })),
      );
      if (priority !== 'NORMAL') await api.setPriority(id, priority);
      if (start) await api.resume(id);
      setName('');
      setFiles([{ remoteName: '', localName: '' }]);
      onCreated(id);
    } catch (err) {
      // Leave no half-made job behind.
      if (id !== undefined) await api.cancel(id).catch(() => undefined);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="create" onSubmit={submit} data-testid="create-form">
      <h2>New download</h2>
      <label>
        Name <input name="displayName" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      {files.map((f, i) => (
        <div class="file-row" key={i}>
          {(['remoteName', 'localName'] as const).map((field) => (
            <input
              key={field}
              name={field}
              placeholder={field === 'remoteName' ? 'https://example.org/file.iso' : '/absolute/path/file.iso'}
              required
              value={f[field]}
              onInput={(e) => update(i, field, (e.target as HTMLInputElement).value)}
            />
          ))}
          {files.length > 1 && (
            <button type="button" onClick={() => setFiles(files.filter((_, j) => j !== i))}>
              −
            </button>
          )}
        </div>
      ))}
      <button type="button" onClick={() => setFiles([...files, { remoteName: '', localName: '' }])}>
        + file
      </button>
      <label>
        Priority{' '}
        <select name="priority" value={priority} onChange={(e) => setPriority((e.target as HTMLSelectElement).value)}>
          {['FOREGROUND', 'HIGH', 'NORMAL', 'LOW'].map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <label>
        <input type="checkbox" checked={start} onChange={(e) => setStart((e.target as HTMLInputElement).checked)} />{' '}
        start now
      </label>
      <button type="submit" class="primary" disabled={busy}>
        Create
      </button>
      {error !== undefined && (
        <div class="error-box" role="alert">
          {error}
        </div>
      )}
    </form>
  );
}
