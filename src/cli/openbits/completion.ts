import { COMMANDS } from '../commands/registry.ts';
import { UsageError } from '../usage-error.ts';
import { GLOBAL_OPTIONS, type OptionSpec, VERBS } from './verbs.ts';

const verbNames = VERBS.map((v) => v.name).join(' ');
const switches = COMMANDS.map((c) => `/${c.name}`).join(' ');

function optionWords(options: readonly OptionSpec[]): string {
  return [...options, ...GLOBAL_OPTIONS]
    .flatMap((o) => [`--${o.long}`, ...(o.short === undefined ? [] : [`-${o.short}`])])
    .join(' ');
}

function bash(): string {
  const cases = VERBS.map((v) => {
    const values = v.options
      .filter((o) => o.value !== undefined)
      .map((o) => {
        const flags = [`--${o.long}`, ...(o.short === undefined ? [] : [`-${o.short}`])].join('|');
        const action =
          o.complete === 'dir'
            ? 'COMPREPLY=($(compgen -d -- "$cur"))'
            : o.complete === 'file'
              ? 'COMPREPLY=($(compgen -f -- "$cur"))'
              : Array.isArray(o.complete)
                ? `COMPREPLY=($(compgen -W "${o.complete.join(' ')}" -- "$cur"))`
                : 'COMPREPLY=()';
        return `        ${flags}) ${action}; return ;;`;
      })
      .join('\n');
    const words = v.words === undefined ? '' : `${v.words.join(' ')} `;
    return `    ${v.name})\n      case "$prev" in\n${values}\n      esac\n      COMPREPLY=($(compgen -W "${words}${optionWords(v.options)}" -- "$cur"))\n      ;;`;
  }).join('\n');
  return `# bash completion for openbits and bitsadmin (openbits completion bash)
_openbits() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${verbNames} --help --version" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
}
complete -o default -F _openbits openbits
_bitsadmin() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  COMPREPLY=($(compgen -W "${switches} /rawreturn /nologo --json --help --version" -- "$cur"))
}
complete -o default -F _bitsadmin bitsadmin
`;
}

function zsh(): string {
  const verbs = VERBS.map((v) => `'${v.name}:${v.summary.replaceAll("'", "'\\''").replaceAll(':', '\\:')}'`).join(' ');
  const cases = VERBS.map((v) => {
    const specs = [...v.options, ...GLOBAL_OPTIONS].map((o) => {
      const summary = o.summary.replaceAll("'", "'\\''").replaceAll('[', '(').replaceAll(']', ')');
      const action =
        o.value === undefined
          ? ''
          : o.complete === 'dir'
            ? `:${o.value}:_files -/`
            : o.complete === 'file'
              ? `:${o.value}:_files`
              : Array.isArray(o.complete)
                ? `:${o.value}:(${o.complete.join(' ')})`
                : `:${o.value}:`;
      const long = `'--${o.long}${o.value === undefined ? '' : '='}[${summary}]${action}'`;
      return o.short === undefined ? long : `'-${o.short}[${summary}]${action}' ${long}`;
    });
    const words = v.words === undefined ? "'*:argument:_files'" : `'1:action:(${v.words.join(' ')})'`;
    return `    ${v.name}) _arguments ${[...specs, words].join(' ')} ;;`;
  }).join('\n');
  return `#compdef openbits bitsadmin
# zsh completion for openbits and bitsadmin (openbits completion zsh > "\${fpath[1]}/_openbits")
_openbits() {
  if [[ $service == bitsadmin ]]; then
    compadd -- ${switches} /rawreturn /nologo --json --help --version
    return
  fi
  if (( CURRENT == 2 )); then
    local -a verbs; verbs=(${verbs})
    _describe verb verbs
    return
  fi
  shift words; (( CURRENT-- ))
  case $words[1] in
${cases}
  esac
}
compdef _openbits openbits bitsadmin
`;
}

function fish(): string {
  const lines = [
    '# fish completion for openbits and bitsadmin (openbits completion fish > ~/.config/fish/completions/openbits.fish)',
    'complete -c openbits -f',
  ];
  for (const v of VERBS) {
    lines.push(`complete -c openbits -n __fish_use_subcommand -a ${v.name} -d '${v.summary.replaceAll("'", "\\'")}'`);
    for (const w of v.words ?? [])
      lines.push(`complete -c openbits -n '__fish_seen_subcommand_from ${v.name}' -a ${w}`);
    for (const o of v.options) {
      const short = o.short === undefined ? '' : ` -s ${o.short}`;
      const value =
        o.value === undefined
          ? ''
          : Array.isArray(o.complete)
            ? ` -x -a '${o.complete.join(' ')}'`
            : o.complete === 'dir'
              ? " -x -a '(__fish_complete_directories)'"
              : ' -r -F';
      lines.push(
        `complete -c openbits -n '__fish_seen_subcommand_from ${v.name}' -l ${o.long}${short}${value} -d '${o.summary.replaceAll("'", "\\'")}'`,
      );
    }
  }
  lines.push(
    'complete -c openbits -l help -s h -d "show help"',
    'complete -c openbits -l version -d "print the version"',
  );
  for (const c of COMMANDS) lines.push(`complete -c bitsadmin -a /${c.name} -d '${c.summary.replaceAll("'", "\\'")}'`);
  return `${lines.join('\n')}\n`;
}

/** `openbits completion bash|zsh|fish`: the script, generated from the verb and switch tables. */
export function completionScript(shell: string): string {
  if (shell === 'bash') return bash();
  if (shell === 'zsh') return zsh();
  if (shell === 'fish') return fish();
  throw new UsageError(`no completion for ${shell} (bash, zsh or fish)`, 'completion');
}
