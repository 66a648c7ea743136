package attnc.export;

import attnc.ir.BinaryOp;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Sizes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The {@code __init__.py} of a pattern's torch package: the module and function docstrings (from
 * the pattern's {@code //!} and {@code ///} comments), {@code attention(q, k, v, <inputs>, *,
 * <params>, return_lse=False)} with the params' defaults, {@code paged_decode} and {@code
 * ragged_prefill} taking the same inputs and params, and what the runtime ({@code _op.py})
 * needs to know of the pattern beyond the manifest: each input's shape as a Python function of the
 * sizes, where symbolic sizes are read from, which inputs get gradients, and whether the mask
 * reads inputs (its tile lists are then kept per input tensor, while unchanged).
 */
final class TorchInit {
    /** Python's keywords, the names {@code attention} takes itself and the module's own: a pattern name among them gets a trailing underscore. */
    private static final Set<String> RESERVED = Set.of("False", "None", "True", "and", "as", "assert", "async", "await", "break",
            "class", "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
            "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
            "q", "k", "v", "return_lse", "_package", "_op", "_ragged", "k_pages", "v_pages", "block_table", "kv_lengths", "query_starts");

    private TorchInit() {}

    /**
     * @param gradientInputs the inputs the exported backward gives a gradient for
     * @param headDims the head dims the exported kernels take
     */
    static String generate(Pattern pattern, String sourceName, String sourceSha256, String opName, List<String> gradientInputs,
                           List<Integer> headDims, boolean writesLse) {
        Map<String, String> fill = new LinkedHashMap<>();
        fill.put("@MODULE_DOCSTRING@", docstring(moduleDoc(pattern, sourceName, sourceSha256, opName, headDims), ""));
        fill.put("@SOURCE@", sourceName);
        fill.put("@PATTERN@", literal(Printer.pattern(pattern)));
        fill.put("@NAME@", literal(pattern.name()));
        fill.put("@OP_NAME_BARE@", opName);
        fill.put("@OP_NAME@", literal(opName));
        List<String> inputs = new ArrayList<>();
        for (Input input : pattern.inputs()) {
            inputs.add("\n        _op.Input(" + literal(input.name()) + ", " + literal(input.dtype().spelling()) + ", " + input.shape().size()
                    + ", lambda s: (" + input.shape().stream().map(TorchInit::python).collect(Collectors.joining(", "))
                    + (input.shape().size() == 1 ? ",)" : ")") + ", " + literal(shapeText(input)) + ", "
                    + (gradientInputs.contains(input.name()) ? "True" : "False") + ", " + literal(input.doc()) + "),");
        }
        fill.put("@INPUTS@", inputs.isEmpty() ? "" : String.join("", inputs) + "\n    ");
        List<String> params = new ArrayList<>();
        for (Param p : pattern.params()) {
            params.add("\n        _op.Param(" + literal(p.name()) + ", " + literal(p.type().spelling())
                    + p.defaultValue().map(v -> ", " + defaultValue(p, v)).orElse("") + ", doc=" + literal(p.doc()) + "),");
        }
        fill.put("@PARAMS@", params.isEmpty() ? "" : String.join("", params) + "\n    ");
        fill.put("@SIZES_FROM@", sizesFrom(pattern));
        fill.put("@MASK_READS_INPUTS@", ExprTree.readsInputs(pattern.visibility()) ? "True" : "False");
        fill.put("@SIGNATURE@", signature(pattern));
        fill.put("@PAGED_SIGNATURE@", signature(pattern).replaceFirst("^q, k, v", "q, k_pages, v_pages, block_table, kv_lengths"));
        fill.put("@PAGED_DOCSTRING@", docstring(pagedDoc(headDims), "    "));
        fill.put("@RAGGED_SIGNATURE@", signature(pattern).replaceFirst("^q, k, v", "q, query_starts, k_pages, v_pages, block_table, kv_lengths"));
        fill.put("@RAGGED_DOCSTRING@", docstring(raggedDoc(headDims, writesLse), "    "));
        fill.put("@FUNCTION_DOCSTRING@", docstring(functionDoc(pattern, gradientInputs, headDims, writesLse), "    "));
        fill.put("@INPUT_TUPLE@", pattern.inputs().stream().map(i -> pythonName(i.name()) + ",").collect(Collectors.joining(" ")));
        fill.put("@PARAM_DICT@", pattern.params().stream().map(p -> literal(p.name()) + ": " + pythonName(p.name())).collect(Collectors.joining(", ")));
        // One pass, so that text filled in (doc comments) is never itself taken for a placeholder.
        return java.util.regex.Pattern.compile("@[A-Z_]+@").matcher(template()).replaceAll(m -> {
            String value = fill.get(m.group());
            if (value == null) throw new IllegalStateException("the torch package template has an unknown placeholder " + m.group());
            return java.util.regex.Matcher.quoteReplacement(value);
        });
    }

    /** A pattern's name as a Python identifier in {@code attention}'s signature. */
    static String pythonName(String name) {
        return RESERVED.contains(name) ? name + "_" : name;
    }

    private static String signature(Pattern pattern) {
        StringBuilder s = new StringBuilder("q, k, v");
        for (Input input : pattern.inputs()) s.append(", ").append(pythonName(input.name()));
        s.append(", *");
        for (Param p : pattern.params()) {
            s.append(", ").append(pythonName(p.name()));
            p.defaultValue().ifPresent(v -> s.append("=").append(defaultValue(p, v)));
        }
        return s.append(", return_lse=False").toString();
    }

    private static String moduleDoc(Pattern pattern, String sourceName, String sourceSha256, String opName, List<Integer> headDims) {
        StringBuilder d = new StringBuilder();
        d.append(pattern.doc().isEmpty() ? "Attention pattern " + pattern.name() + ", compiled by attnc." : pattern.doc()).append("\n\n");
        d.append("attnc pattern '").append(pattern.name()).append("' from ").append(sourceName).append(" (sha256 ").append(sourceSha256)
                .append("), exported for PyTorch::\n\n");
        Printer.pattern(pattern).lines().filter(l -> !l.startsWith("//!")).forEach(l -> d.append("    ").append(l).append('\n'));
        String inputs = pattern.inputs().stream().map(i -> ", " + pythonName(i.name())).collect(Collectors.joining());
        d.append("\nUse::\n\n");
        d.append("    import ").append(TorchPackage.packageName(pattern.name())).append("\n");
        d.append("    out = ").append(TorchPackage.packageName(pattern.name())).append(".attention(q, k, v").append(inputs)
                .append(")   # q [B, H, Nq, D]; k, v [B, Hkv, Nkv, D]\n");
        d.append("    out.sum().backward()                      # gradients of q, k, v and of float inputs\n\n");
        d.append("What is here: PTX of the forward and backward kernels (bfloat16, head dims ").append(headDims)
                .append(") for sm_80, which runs on every NVIDIA GPU from Ampere on, and for sm_90/sm_90a (Hopper); the\n");
        d.append("manifest (manifest.json) that says how to launch them; and a runtime that needs only torch: it loads the PTX through\n");
        d.append("the CUDA driver (ctypes) on a GPU's first call, which compiles it for that GPU and caches the result; nothing is\n");
        d.append("compiled on import.\n\n");
        d.append("attention is the custom op torch.ops.attnc.").append(opName).append("_forward with a fake (meta) implementation and\n");
        d.append("an autograd formula (torch.ops.attnc.").append(opName).append("_backward): torch.compile(fullgraph=True) traces it\n");
        d.append("without a graph break, and since the kernels take any sequence length, a new one needs no new kernel. Launches\n");
        d.append("go on torch.cuda.current_stream(); for CUDA graphs, call it once before capturing (that loads the modules).\n");
        d.append("A decode step (a few queries a head over many keys: the manifest's decode.max_queries and min_keys) runs split-KV\n");
        d.append("decode kernels: the keys split over as many blocks as the GPU holds, the GQA heads of one KV head reading it once,\n");
        d.append("the partial results merged by their LSE. For serving, paged_decode runs a decode step over a paged KV cache and\n");
        d.append("ragged_prefill a ragged batch (packed queries, each sequence its own lengths) over one, in one launch; neither\n");
        d.append("records anything for autograd.\n");
        return d.toString();
    }

    private static String functionDoc(Pattern pattern, List<String> gradientInputs, List<Integer> headDims, boolean writesLse) {
        StringBuilder d = new StringBuilder();
        d.append(pattern.doc().isEmpty() ? "Attention pattern " + pattern.name() + "." : pattern.doc()).append("\n\n");
        d.append("Queries sit at the end of the keys: with Nq < Nkv, query i is at position Nkv - Nq + i (decoding against a\n");
        d.append("KV cache). The kernels compute in bfloat16 with float32 accumulation: float16 and float32 tensors are rounded\n");
        d.append("to bfloat16 first. Non-contiguous q, k, v are copied once.\n\n");
        d.append("Args:\n");
        d.append("    q (torch.Tensor): queries [B, H, Nq, D] on a CUDA device; bfloat16, float16 or float32; D in ")
                .append(headDims).append(".\n");
        d.append("    k (torch.Tensor): keys [B, Hkv, Nkv, D], H a multiple of Hkv (grouped-query attention).\n");
        d.append("    v (torch.Tensor): values [B, Hkv, Nkv, Dv], Dv = D.\n");
        for (Input input : pattern.inputs()) {
            d.append("    ").append(pythonName(input.name())).append(" (torch.Tensor): ").append(input.dtype().spelling()).append(" ")
                    .append(shapeText(input)).append(conversion(input.dtype())).append(".");
            if (!input.doc().isEmpty()) d.append(" ").append(input.doc().strip());
            d.append(" ").append(gradientNote(input, gradientInputs)).append("\n");
        }
        for (Param p : pattern.params()) {
            d.append("    ").append(pythonName(p.name())).append(" (").append(p.type().spelling()).append("): ");
            if (!p.doc().isEmpty()) d.append(p.doc().strip()).append(" ");
            d.append(p.defaultValue().map(v -> "Default: " + defaultValue(p, v) + ".").orElse("Required.")).append("\n");
        }
        d.append(writesLse
                ? "    return_lse (bool): also return the log-sum-exp of each row's scores, float32 [B, H, Nq] (natural log;\n"
                  + "        a row that sees no key has -inf, or its sink logit), detached: no gradient flows through it.\n"
                : "    return_lse (bool): not available: this pattern's normalisation has no log-sum-exp.\n");
        d.append("\nReturns:\n");
        d.append("    torch.Tensor: the output [B, H, Nq, Dv] in q's dtype; with return_lse=True, (output, lse).\n");
        d.append("\nRaises:\n");
        d.append("    TypeError: a tensor or param of the wrong type or dtype.\n");
        d.append("    ValueError: shapes that do not fit (the message gives the expected and the actual), head dims the\n");
        d.append("        kernels do not take, tensors on different devices or off CUDA.\n");
        d.append("    RuntimeError: a GPU older than sm_80, or a CUDA driver error (named).\n");
        return d.toString();
    }

    private static String pagedDoc(List<Integer> headDims) {
        return "One decode step over a paged KV cache, for inference (no gradients): the split-KV decode kernels read\n"
                + "K and V through the block table, each sequence with its own keys and its queries at their end. The inputs\n"
                + "and params are attention's. The manifest's decode.paged says what the kernels take and whether this pattern\n"
                + "can run paged (if not, this raises ValueError with the reason).\n\n"
                + "Args:\n"
                + "    q (torch.Tensor): queries [B, H, Nq, D], every sequence's Nq queries (1 to decode.max_queries), D in " + headDims + ".\n"
                + "    k_pages (torch.Tensor): the key pool [P, page, Hkv, D], page a power of two from 1 to 256.\n"
                + "    v_pages (torch.Tensor): the value pool [P, page, Hkv, Dv], Dv = D.\n"
                + "    block_table (torch.Tensor): int [B, max_pages]: key i of sequence b is row i % page of page\n"
                + "        block_table[b, i // page]; only the first ceil(kv_lengths[b] / page) entries are read (and checked).\n"
                + "    kv_lengths (torch.Tensor): int [B], each sequence's keys, 0 to max_pages * page. Read on the host (a\n"
                + "        synchronisation when it lives on the GPU): it sizes the launch and each sequence's tile list.\n\n"
                + "Returns:\n"
                + "    torch.Tensor: the output [B, H, Nq, Dv] in q's dtype; with return_lse=True, (output, lse float32 [B, H, Nq]).\n";
    }

    private static String raggedDoc(List<Integer> headDims, boolean writesLse) {
        return "Prefill of a ragged batch over a paged KV cache, for inference (no autograd: nothing is recorded for a\n"
                + "backward): one launch of the ragged prefill kernel, the queries packed, each sequence with its own numbers of\n"
                + "queries and keys, its queries at the end of its keys (query i of sequence b sits at position\n"
                + "kv_lengths[b] - Nq_b + i when Nq_b < kv_lengths[b]), K and V read in place through the block table. Inside the\n"
                + "pattern Nq, Nkv and Q0 are the sequence's own and b its index. The inputs and params are attention's, with B\n"
                + "the number of sequences; an input whose shape names Nq, Nkv or Q0 is given at the largest extent any\n"
                + "sequence declares, and sequence b sees the leading part its own sizes declare. The manifest's ragged\n"
                + "section says what the kernels take and whether this pattern runs ragged (if not, this raises ValueError with\n"
                + "the reason). The kernels compute in bfloat16 with float32 accumulation: float16 and float32 tensors are\n"
                + "rounded to bfloat16 first.\n\n"
                + "Args:\n"
                + "    q (torch.Tensor): queries [totalQ, H, D] on a CUDA device, packed token-major; bfloat16, float16 or\n"
                + "        float32; D in " + headDims + ".\n"
                + "    query_starts (torch.Tensor): int [B + 1]: sequence b's queries are rows query_starts[b] to\n"
                + "        query_starts[b + 1] - 1 of q (0 or more); starts at 0, never decreases, ends at totalQ.\n"
                + "    k_pages (torch.Tensor): the key pool [P, page, Hkv, D], page a power of two from 1 to 256, H a multiple\n"
                + "        of Hkv.\n"
                + "    v_pages (torch.Tensor): the value pool [P, page, Hkv, Dv], Dv = D.\n"
                + "    block_table (torch.Tensor): int [B, max_pages]: key i of sequence b is row i % page of page\n"
                + "        block_table[b, i // page]; only the first ceil(kv_lengths[b] / page) entries are read (and checked);\n"
                + "        sequences may share pages.\n"
                + "    kv_lengths (torch.Tensor): int [B], each sequence's keys, 0 to max_pages * page.\n"
                + (writesLse
                ? "    return_lse (bool): also return the log-sum-exp of each row's scores, float32 [totalQ, H] (natural log; a\n"
                  + "        row that sees no key has -inf, or its sink logit).\n"
                : "    return_lse (bool): not available: this pattern's normalisation has no log-sum-exp.\n")
                + "\nReturns:\n"
                + "    torch.Tensor: the output [totalQ, H, Dv] in q's dtype, packed as q (a row that sees no key is 0 before\n"
                + "    the output transform); with return_lse=True, (output, lse).\n"
                + "\nRaises:\n"
                + "    TypeError: a tensor or param of the wrong type or dtype.\n"
                + "    ValueError: shapes, lengths or page ids that do not fit (the message gives the expected and the actual),\n"
                + "        head dims the kernels do not take, tensors off q's CUDA device, or a pattern the ragged kernel refuses.\n"
                + "    RuntimeError: a GPU older than sm_80, or a CUDA driver error (named).\n"
                + "\nquery_starts, kv_lengths and the used rows of block_table are read on the host (a synchronisation when they\n"
                + "live on the GPU): they size the launch, each sequence's tile lists and the work list.\n";
    }

    private static String conversion(DType dtype) {
        return switch (dtype) {
            case INT32 -> " (int64 is converted)";
            case FLOAT32, BFLOAT16, FLOAT16 -> " (other float dtypes are converted)";
            case BOOL -> "";
        };
    }

    private static String gradientNote(Input input, List<String> gradientInputs) {
        if (gradientInputs.contains(input.name())) return "Gets a gradient (float32 in the kernels, returned in this dtype).";
        if (input.dtype().loadsAs() != attnc.ir.Type.FLOAT) return "No gradient (not a float input).";
        return "No gradient (read only where it has none: the mask, the selection, or through int/floor/comparisons).";
    }

    /** {@code [B, (Nkv + 64 - 1) / 64]}: an input's shape as attnc spells it. */
    static String shapeText(Input input) {
        return input.shape().stream().map(Printer::expr).collect(Collectors.joining(", ", "[", "]"));
    }

    /** The symbolic sizes (those not standard), each read from the first whole dim of an input that is it. */
    private static String sizesFrom(Pattern pattern) {
        Map<String, String> where = new LinkedHashMap<>();
        List<String> used = new ArrayList<>();
        for (int i = 0; i < pattern.inputs().size(); i++) {
            Input input = pattern.inputs().get(i);
            for (int axis = 0; axis < input.shape().size(); axis++) {
                if (input.shape().get(axis) instanceof Expr.SizeRef(String name) && !Sizes.STANDARD.contains(name) && !where.containsKey(name)) {
                    where.put(name, "(" + i + ", " + axis + ")");
                }
                ExprTree.any(input.shape().get(axis), e -> {
                    if (e instanceof Expr.SizeRef(String name) && !Sizes.STANDARD.contains(name)) used.add(name);
                    return false;
                });
            }
        }
        for (String name : used) {
            if (!where.containsKey(name)) {
                throw new IllegalArgumentException("the torch target needs each symbolic size as a whole dim of some input; '" + name
                        + "' only appears inside an expression");
            }
        }
        return where.entrySet().stream().map(e -> literal(e.getKey()) + ": " + e.getValue()).collect(Collectors.joining(", ", "{", "}"));
    }

    /** An int shape expression as Python over {@code s}, the sizes by name; attnc's floored {@code /} is Python's {@code //}. */
    static String python(Expr e) {
        return switch (e) {
            case Expr.IntLit(int value) -> Integer.toString(value);
            case Expr.SizeRef(String name) -> "s[" + literal(name) + "]";
            case Expr.Unary(attnc.ir.UnaryOp op, Expr operand) when op != attnc.ir.UnaryOp.NOT -> "(" + op.symbol() + python(operand) + ")";
            case Expr.Binary(BinaryOp op, Expr left, Expr right) when op.kind() == BinaryOp.Kind.ARITH || op.kind() == BinaryOp.Kind.INT_ONLY ->
                    "(" + python(left) + " " + (op == BinaryOp.DIV ? "//" : op.symbol()) + " " + python(right) + ")";
            case Expr.Call(attnc.ir.Builtin fn, List<Expr> args) when fn == attnc.ir.Builtin.MIN || fn == attnc.ir.Builtin.MAX
                    || fn == attnc.ir.Builtin.ABS ->
                    fn.name().toLowerCase(java.util.Locale.ROOT) + "(" + args.stream().map(TorchInit::python).collect(Collectors.joining(", ")) + ")";
            default -> throw new IllegalArgumentException("the torch target cannot check an input dim written " + Printer.expr(e));
        };
    }

    private static String defaultValue(Param p, Expr value) {
        return switch (value) {
            case Expr.IntLit(int v) -> Integer.toString(v);
            case Expr.BoolLit(boolean v) -> v ? "True" : "False";
            case Expr.FloatLit(double v) when Double.isNaN(v) -> "float(\"nan\")";
            case Expr.FloatLit(double v) when Double.isInfinite(v) -> v > 0 ? "float(\"inf\")" : "float(\"-inf\")";
            case Expr.FloatLit(double v) -> Double.toString(v);
            default -> throw new IllegalArgumentException("param " + p.name() + "'s default is not a literal: " + Printer.expr(value));
        };
    }

    /** A Python string literal (double quotes; the file is UTF-8, so other characters stay as they are). */
    static String literal(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) out.append(String.format("\\x%02x", (int) c));
                    else out.append(c);
                }
            }
        }
        return out.append('"').toString();
    }

    /** A triple-quoted docstring, each line indented; backslashes and quotes escaped so no text ends it early. */
    static String docstring(String text, String indent) {
        String escaped = text.strip().replace("\\", "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
        String body = escaped.lines().map(l -> l.isBlank() ? "" : indent + l).collect(Collectors.joining("\n"));
        return indent + "\"\"\"" + body.substring(indent.length()) + "\n" + indent + "\"\"\"";
    }

    private static String template() {
        try (InputStream in = TorchInit.class.getResourceAsStream(TorchPackage.RESOURCES + "__init__.py.in")) {
            if (in == null) throw new IllegalStateException("the torch package template is missing from attnc's export jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the torch package template: " + e.getMessage(), e);
        }
    }
}
