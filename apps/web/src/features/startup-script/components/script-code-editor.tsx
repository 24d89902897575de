// The startup script in CodeMirror 6 with shell highlighting. Loaded lazily: it is the second
// heaviest part of the page and only needed once the page is on screen. Colours come from the
// page's palette (CSS variables), so the editor follows light and dark mode and keeps its contrast.
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { Compartment, EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, placeholder as placeholderText } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { useEffect, useRef } from "react";

interface ScriptCodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  readOnly: boolean;
  label: string;
  describedBy: string;
  invalid: boolean;
  placeholder: string;
}

// The shell mode's tokens: comments and the #! line, keywords (if, then…), builtins (echo, cd…),
// strings, $variables, assignments, options (--flag), numbers, operators.
const highlight = HighlightStyle.define([
  { tag: [tags.comment, tags.meta], color: "var(--mui-palette-text-secondary)", fontStyle: "italic" },
  { tag: [tags.standard(tags.variableName), tags.attributeName], color: "var(--mui-palette-info-main)" },
  { tag: tags.operator, color: "var(--mui-palette-text-secondary)" },
  { tag: [tags.keyword, tags.controlKeyword], color: "var(--mui-palette-secondary-main)", fontWeight: "600" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--mui-palette-success-main)" },
  { tag: [tags.variableName, tags.definition(tags.variableName)], color: "var(--mui-palette-primary-main)" },
  { tag: tags.number, color: "var(--mui-palette-warning-main)" },
]);

const look = EditorView.theme({
  "&": { fontSize: "14px", border: "1px solid var(--mui-palette-divider)", borderRadius: "8px" },
  "&.cm-focused": { outline: "2px solid var(--mui-palette-primary-main)", outlineOffset: "-1px" },
  ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", minHeight: "12em" },
  // No inner scrolling (long lines wrap, the editor grows with the script): a scrolling box
  // inside the page would be one more thing a keyboard user has to reach.
  ".cm-scroller": { overflow: "visible" },
  ".cm-gutters": {
    backgroundColor: "transparent",
    color: "var(--mui-palette-text-secondary)",
    borderRight: "1px solid var(--mui-palette-divider)",
  },
  ".cm-cursor": { borderLeftColor: "var(--mui-palette-text-primary)" },
  ".cm-placeholder": { color: "var(--mui-palette-text-secondary)" },
});

export default function ScriptCodeEditor(props: ScriptCodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  const editable = useRef(new Compartment());
  const attributes = useRef(new Compartment());

  // biome-ignore lint/correctness/useExhaustiveDependencies: the view is made once; later props reach it below.
  useEffect(() => {
    if (!host.current) return;
    view.current = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          EditorView.lineWrapping,
          history(),
          // Tab is left to the browser, so keyboard users can leave the editor the way they came in.
          keymap.of([...defaultKeymap, ...historyKeymap]),
          StreamLanguage.define(shell),
          syntaxHighlighting(highlight),
          look,
          placeholderText(props.placeholder),
          editable.current.of(editability(props.readOnly)),
          attributes.current.of(contentAttributes(props)),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChange.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.current?.destroy();
  }, []);

  // A value set from outside (Discard, a restored version, a change saved elsewhere).
  useEffect(() => {
    const current = view.current;
    if (current && current.state.doc.toString() !== props.value) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  useEffect(() => {
    view.current?.dispatch({
      effects: [
        editable.current.reconfigure(editability(props.readOnly)),
        attributes.current.reconfigure(contentAttributes(props)),
      ],
    });
  }, [props]);

  return <div ref={host} data-testid="script-code-editor" />;
}

/** Read-only refuses changes and also takes the content out of editing (no caret, no keyboard). */
function editability(readOnly: boolean) {
  return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
}

function contentAttributes(props: ScriptCodeEditorProps) {
  return EditorView.contentAttributes.of({
    "aria-label": props.label,
    "aria-describedby": props.describedBy,
    "aria-invalid": String(props.invalid),
    "aria-readonly": String(props.readOnly),
    spellcheck: "false",
  });
}
