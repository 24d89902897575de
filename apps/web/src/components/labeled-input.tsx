// A labelled text input without TextField: TextField also brings Select, its menus and popovers
// into the first bundle, which this page never uses.
import FormControl from "@mui/material/FormControl";
import FormHelperText from "@mui/material/FormHelperText";
import InputLabel from "@mui/material/InputLabel";
import OutlinedInput, { type OutlinedInputProps } from "@mui/material/OutlinedInput";
import { type ReactNode, useId } from "react";

interface LabeledInputProps extends Omit<OutlinedInputProps, "label"> {
  label: string;
  helperText?: ReactNode;
}

export function LabeledInput({ label, helperText, required, error, fullWidth = true, ...input }: LabeledInputProps) {
  const id = useId();
  const helperId = `${id}-helper`;
  const describedBy = [input.inputProps?.["aria-describedby"], helperText ? helperId : null].filter(Boolean).join(" ");
  return (
    <FormControl variant="outlined" required={required} error={error} fullWidth={fullWidth}>
      <InputLabel htmlFor={id}>{label}</InputLabel>
      <OutlinedInput
        {...input}
        id={id}
        label={required ? `${label} *` : label}
        inputProps={{ ...input.inputProps, "aria-describedby": describedBy || undefined }}
      />
      {helperText && <FormHelperText id={helperId}>{helperText}</FormHelperText>}
    </FormControl>
  );
}
