package attnc.export;

import attnc.front.CompileException;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Type;
import attnc.launch.Gradients;
import attnc.launch.KvCache;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.launch.Wrt;
import attnc.run.Attnc;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.ParameterizedTypeName;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import javax.lang.model.element.Modifier;

/**
 * A typed Java wrapper for one pattern: a builder with the pattern's params (typed, with their
 * defaults), {@code forward} and {@code forwardInto} taking the pattern's inputs as named
 * arguments, and complete javadoc (from the pattern's doc comments, escaped for HTML). The wrapper
 * carries the printed pattern; when built, it loads the kernel the Maven plugin precompiled for
 * the chosen backend (params then go in at launch), or else compiles the pattern with the
 * builder's params folded in.
 */
public final class WrapperGenerator {
    private static final ClassName TENSOR = ClassName.get(Tensor.class);
    private static final ClassName RESULT = ClassName.get(Result.class);
    private static final ClassName KERNEL = ClassName.get(Kernel.class);
    private static final ClassName EXPR = ClassName.get(Expr.class);

    private WrapperGenerator() {}

    /** The wrapper's simple class name for a pattern name: {@code sliding_window} → {@code SlidingWindowAttention}. */
    public static String className(String patternName) {
        StringBuilder out = new StringBuilder();
        boolean upper = true;
        for (char c : patternName.toCharArray()) {
            if (!Character.isLetterOrDigit(c)) {
                upper = true;
                continue;
            }
            out.append(upper ? Character.toUpperCase(c) : c);
            upper = false;
        }
        if (out.isEmpty() || !Character.isJavaIdentifierStart(out.charAt(0))) out.insert(0, 'P');
        return out + "Attention";
    }

    public static JavaFile generate(Pattern pattern, String packageName, String sourceName, String sourceSha256) {
        return generate(pattern, packageName, sourceName, sourceSha256, Map.of());
    }

    /**
     * @param precompiled for each backend whose kernel was exported at build time, the resource
     *     names of its files; a wrapper built for such a backend loads them instead of generating
     *     code, and passes its params at launch. Written in sorted order, whatever the map's.
     */
    public static JavaFile generate(Pattern pattern, String packageName, String sourceName, String sourceSha256,
                                    Map<String, List<String>> precompiled) {
        String simpleName = className(pattern.name());
        ClassName self = ClassName.get(packageName, simpleName);
        ClassName builder = self.nestedClass("Builder");
        String printed = Printer.pattern(pattern);
        TypeName paramMap = ParameterizedTypeName.get(ClassName.get(Map.class), ClassName.get(String.class), EXPR);

        TypeSpec.Builder type = TypeSpec.classBuilder(simpleName)
                .addModifiers(Modifier.PUBLIC, Modifier.FINAL)
                .addSuperinterface(AutoCloseable.class)
                .addJavadoc(classDoc(pattern, sourceName, simpleName))
                .addField(FieldSpec.builder(String.class, "PATTERN", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
                        .addJavadoc("The pattern as attnc prints it, imports resolved; compiled when a wrapper is built.\n")
                        .initializer("$S", printed).build())
                .addField(FieldSpec.builder(String.class, "SOURCE_SHA256", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
                        .addJavadoc("SHA-256 of the .attn source this wrapper was generated from.\n")
                        .initializer("$S", sourceSha256).build())
                .addField(precompiledField(precompiled))
                .addField(KERNEL, "kernel", Modifier.PRIVATE, Modifier.FINAL)
                .addField(boolean.class, "precompiled", Modifier.PRIVATE, Modifier.FINAL)
                .addField(paramMap, "launchParams", Modifier.PRIVATE, Modifier.FINAL)
                .addMethod(MethodSpec.constructorBuilder().addModifiers(Modifier.PRIVATE)
                        .addParameter(KERNEL, "kernel")
                        .addParameter(paramMap, "launchParams")
                        .addParameter(boolean.class, "precompiled")
                        .addStatement("this.kernel = kernel").addStatement("this.launchParams = launchParams")
                        .addStatement("this.precompiled = precompiled").build())
                .addMethod(MethodSpec.methodBuilder("precompiled").addModifiers(Modifier.PUBLIC).returns(boolean.class)
                        .addJavadoc("Whether the kernel was loaded from files the Maven plugin generated at build time.\n\n")
                        .addJavadoc("@return true when no code was generated at run time for this wrapper\n")
                        .addStatement("return precompiled").build())
                .addMethod(MethodSpec.methodBuilder("builder").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
                        .addJavadoc("Starts a wrapper: set params and the backend, then {@link Builder#build()}.\n\n")
                        .addJavadoc("@return a builder holding every param's default and the {@code jvm} backend\n")
                        .returns(builder).addStatement("return new $T()", builder).build())
                .addMethod(forward(pattern, false))
                .addMethod(forward(pattern, true))
                .addMethod(forwardInto(pattern))
                .addMethod(backward(pattern))
                .addMethod(deterministicBackward(pattern))
                .addMethod(forwardServing(pattern, false))
                .addMethod(forwardServing(pattern, true))
                .addMethod(problemMethod(pattern))
                .addMethod(inputsMethod(pattern))
                .addMethod(MethodSpec.methodBuilder("kernel").addModifiers(Modifier.PUBLIC).returns(KERNEL)
                        .addJavadoc("The compiled kernel, for callers that build {@link $T}s themselves (launch-time\n", Problem.class)
                        .addJavadoc("params, a query offset, tensors by name).\n\n")
                        .addJavadoc("@return the kernel this wrapper launches; closed with the wrapper\n")
                        .addStatement("return kernel").build())
                .addMethod(MethodSpec.methodBuilder("close").addAnnotation(Override.class).addModifiers(Modifier.PUBLIC)
                        .addJavadoc("Releases the kernel (GPU modules); the wrapper is not launched afterwards (with the jvm\n")
                        .addJavadoc("backend, a launch then throws {@link $T}).\n", IllegalStateException.class)
                        .addStatement("kernel.close()").build())
                .addType(builderType(pattern, self, builder));
        return JavaFile.builder(packageName, type.build())
                .addFileComment("Generated by attnc from $L. Do not edit: change the .attn file instead.", sourceName)
                .skipJavaLangImports(true)
                .build();
    }

    private static CodeBlock classDoc(Pattern pattern, String sourceName, String simpleName) {
        CodeBlock.Builder doc = CodeBlock.builder();
        if (!pattern.doc().isEmpty()) doc.add("$L\n\n", escape(pattern.doc()));
        doc.add("<p>Attention pattern <code>$L</code>, generated by attnc from <code>$L</code>:\n", escape(pattern.name()), escape(sourceName));
        doc.add("<pre>\n$L</pre>\n", escape(Printer.pattern(pattern).lines()
                .filter(l -> !l.startsWith("//")).collect(Collectors.joining("\n")) + "\n"));
        doc.add("<p>Use: {@code try ($L attention = $L.builder().build()) { Result r = attention.forward(q, k, v$L); }}\n",
                simpleName, simpleName, pattern.inputs().stream().map(i -> ", " + javaName(i.name())).collect(Collectors.joining()));
        doc.add("with {@link $T}s [B, H, N, D] (see {@link $T#transpose} for [B, N, H, D] data).\n\n", Tensor.class, Tensor.class);
        doc.add("<p>Thread safety: a wrapper is immutable and its kernel holds no per-call state, so one wrapper\n");
        doc.add("serves any number of threads at once; build it once and reuse it. {@link #close()} releases the\n");
        doc.add("kernel.\n");
        return doc.build();
    }

    private static MethodSpec.Builder launchDoc(MethodSpec.Builder m, Pattern pattern) {
        m.addJavadoc("@param q queries [B, H, Nq, D]\n@param k keys [B, Hkv, Nkv, D]\n@param v values [B, Hkv, Nkv, Dv]\n");
        m.addParameter(TENSOR, "q").addParameter(TENSOR, "k").addParameter(TENSOR, "v");
        return inputsDoc(m, pattern);
    }

    private static MethodSpec.Builder inputsDoc(MethodSpec.Builder m, Pattern pattern) {
        for (Input input : pattern.inputs()) {
            String shape = input.shape().stream().map(Printer::expr).collect(Collectors.joining(", ", "[", "]"));
            m.addParameter(TENSOR, javaName(input.name()));
            m.addJavadoc("@param $L $L $L$L\n", javaName(input.name()), input.dtype(), escape(shape),
                    input.doc().isEmpty() ? "" : ": " + escape(input.doc()));
        }
        return m;
    }

    private static MethodSpec forward(Pattern pattern, boolean withOffset) {
        MethodSpec.Builder m = MethodSpec.methodBuilder("forward").addModifiers(Modifier.PUBLIC).returns(RESULT)
                .addJavadoc("Runs the pattern into fresh arrays. Shapes are checked before anything runs.\n\n");
        launchDoc(m, pattern);
        if (withOffset) {
            m.addParameter(int.class, "queryOffset");
            m.addJavadoc("@param queryOffset absolute position of the first query (decode against a KV cache)\n");
        }
        m.addJavadoc("@return the output [B, H, Nq, Dv] and, for softmax patterns, the LSE [B, H, Nq]\n");
        m.addJavadoc("@throws $T when a tensor's shape or dtype does not fit, naming the expected and the actual\n", ShapeException.class);
        if (!withOffset) {
            String args = pattern.inputs().stream().map(i -> ", " + javaName(i.name())).collect(Collectors.joining());
            return m.addStatement("return forward(q, k, v$L, $T.BOTTOM_RIGHT)", args, Problem.class).build();
        }
        return m.addStatement("return kernel.forward(problem(q, k, v$L, queryOffset))", inputArguments(pattern)).build();
    }

    /**
     * Serving launches: a ragged batch over a paged KV cache ({@code forward(q, queryStarts, cache,
     * inputs...)}), or one query a sequence ({@code decode(q, cache, inputs...)}).
     */
    private static MethodSpec forwardServing(Pattern pattern, boolean decode) {
        MethodSpec.Builder m = MethodSpec.methodBuilder(decode ? "decode" : "forward").addModifiers(Modifier.PUBLIC).returns(RESULT);
        if (decode) {
            m.addJavadoc("One decode step: one query a sequence against its keys in a paged {@link $T}, each sequence a launch of its\n", KvCache.class)
                    .addJavadoc("own (its query at the bottom right of its keys). Everything is checked before anything runs.\n\n")
                    .addJavadoc("@param q the queries [B, H, D], row b sequence b's\n");
            m.addParameter(TENSOR, "q");
        } else {
            m.addJavadoc("Runs a serving batch: sequences of their own lengths, queries packed one after another, keys and values in a\n")
                    .addJavadoc("paged {@link $T} (the layouts: {@link $T}). Everything is checked before anything runs.\n\n", KvCache.class, RaggedBatch.class)
                    .addJavadoc("@param q the queries of every sequence [totalQ, H, D]\n")
                    .addJavadoc("@param queryStarts int32 [B + 1]: sequence b owns query rows queryStarts[b] .. queryStarts[b + 1] - 1\n");
            m.addParameter(TENSOR, "q").addParameter(TENSOR, "queryStarts");
        }
        m.addParameter(KvCache.class, "cache").addJavadoc("@param cache the keys and values: pages, block table and lengths\n");
        inputsDoc(m, pattern);
        m.addJavadoc("@return the output [totalQ, H, Dv] and, for softmax patterns, the LSE [totalQ, H]\n");
        m.addJavadoc("@throws $T when a tensor, a page id or a length does not fit, naming the expected and the actual\n", ShapeException.class);
        String args = pattern.inputs().stream().map(i -> javaName(i.name())).collect(Collectors.joining(", "));
        m.addStatement("$T.requireNonNull(q, $S)", Objects.class, "q").addStatement("$T.requireNonNull(cache, $S)", Objects.class, "cache");
        if (decode) return m.addStatement("return kernel.forward($T.decode(q, cache, inputs($L)).withParams(launchParams))", RaggedBatch.class, args).build();
        m.addStatement("$T.requireNonNull(queryStarts, $S)", Objects.class, "queryStarts");
        return m.addStatement("return kernel.forward(new $T(q, queryStarts, cache, inputs($L)).withParams(launchParams))", RaggedBatch.class, args).build();
    }

    private static MethodSpec forwardInto(Pattern pattern) {
        MethodSpec.Builder m = MethodSpec.methodBuilder("forwardInto").addModifiers(Modifier.PUBLIC)
                .addJavadoc("Runs the pattern into the caller's tensors: rows are written straight into {@code out}'s storage\n")
                .addJavadoc("(an array, a segment or a buffer, in any layout), with no array of the output's size in between.\n")
                .addJavadoc("Everything is checked before anything is written.\n\n");
        launchDoc(m, pattern);
        m.addParameter(TENSOR, "out").addParameter(TENSOR, "lse");
        m.addJavadoc("@param out the output [B, H, Nq, Dv], float32, bfloat16 or float16\n");
        m.addJavadoc("@param lse the natural-log LSE [B, H, Nq] (float32, softmax patterns), or null\n");
        m.addJavadoc("@throws $T when a tensor's shape or dtype does not fit, naming the expected and the actual\n", ShapeException.class);
        return m.addStatement("kernel.forward(problem(q, k, v$L, $T.BOTTOM_RIGHT), out, lse)", inputArguments(pattern), Problem.class).build();
    }

    private static MethodSpec backward(Pattern pattern) {
        String gradients = Wrt.all(pattern).stream().map(Wrt::label).collect(Collectors.joining(", "));
        MethodSpec.Builder m = MethodSpec.methodBuilder("backward").addModifiers(Modifier.PUBLIC).returns(Gradients.class)
                .addJavadoc("The gradients of a loss through this pattern: $L (float32, each of the shape of what it is\n", escape(gradients))
                .addJavadoc("the gradient of; GQA's dk and dv summed over the heads that share a kv head). Everything is checked\n")
                .addJavadoc("before anything runs; a backend without a backward says so in one line.\n\n");
        launchDoc(m, pattern);
        m.addParameter(RESULT, "forward").addParameter(TENSOR, "dOut");
        m.addJavadoc("@param forward what {@link #forward} returned for these tensors\n");
        m.addJavadoc("@param dOut the loss's gradient with respect to the output [B, H, Nq, Dv]\n");
        m.addJavadoc("@return the gradients by what they are of ({@code dq()}, {@code dk()}, {@code dv()}, {@code input(name)})\n");
        m.addJavadoc("@throws $T when a tensor's shape or dtype does not fit, naming the expected and the actual\n", ShapeException.class);
        return m.addStatement("return kernel.backward(problem(q, k, v$L, $T.BOTTOM_RIGHT), forward, dOut)", inputArguments(pattern), Problem.class).build();
    }

    private static MethodSpec deterministicBackward(Pattern pattern) {
        MethodSpec.Builder m = MethodSpec.methodBuilder("backward").addModifiers(Modifier.PUBLIC).returns(Gradients.class)
                .addJavadoc("{@link #backward} with, when {@code deterministic}, gradients bitwise the same on every run\n")
                .addJavadoc("(the backend's sums taken in a fixed order or exactly; see the README's Backward section).\n\n");
        launchDoc(m, pattern);
        m.addParameter(RESULT, "forward").addParameter(TENSOR, "dOut").addParameter(boolean.class, "deterministic");
        m.addJavadoc("@param forward what {@link #forward} returned for these tensors\n");
        m.addJavadoc("@param dOut the loss's gradient with respect to the output [B, H, Nq, Dv]\n");
        m.addJavadoc("@param deterministic whether every run must give the same bits\n");
        m.addJavadoc("@return the gradients by what they are of ({@code dq()}, {@code dk()}, {@code dv()}, {@code input(name)})\n");
        m.addJavadoc("@throws $T when a tensor's shape or dtype does not fit, naming the expected and the actual\n", ShapeException.class);
        return m.addStatement("return kernel.backward(problem(q, k, v$L, $T.BOTTOM_RIGHT), forward, dOut, $T.all(kernel.pattern()), deterministic)",
                inputArguments(pattern), Problem.class, Wrt.class).build();
    }

    private static CodeBlock inputArguments(Pattern pattern) {
        return CodeBlock.of("$L", pattern.inputs().stream().map(i -> ", " + javaName(i.name())).collect(Collectors.joining()));
    }

    private static TypeSpec builderType(Pattern pattern, ClassName self, ClassName builder) {
        TypeSpec.Builder b = TypeSpec.classBuilder("Builder").addModifiers(Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
                .addJavadoc("Sets the params, the backend and where launches run, then builds the wrapper. Not thread-safe;\n")
                .addJavadoc("the wrapper it builds is.\n")
                .addField(FieldSpec.builder(String.class, "backend", Modifier.PRIVATE).initializer("$S", "jvm").build())
                .addField(Executor.class, "executor", Modifier.PRIVATE)
                .addField(int.class, "parallelism", Modifier.PRIVATE)
                .addMethod(MethodSpec.constructorBuilder().addModifiers(Modifier.PRIVATE).build());
        MethodSpec.Builder build = MethodSpec.methodBuilder("build").addModifiers(Modifier.PUBLIC).returns(self)
                .addJavadoc("Makes the kernel: loads the one the Maven plugin precompiled for this backend, if any (class\n")
                .addJavadoc("loading: milliseconds), else compiles the pattern with these params folded in (code generation:\n")
                .addJavadoc("tens to hundreds of milliseconds). Either way the first launches run before the JIT has compiled\n")
                .addJavadoc("the kernel; warm it up on the shapes you use before timing.\n\n")
                .addJavadoc("@return a wrapper ready to launch, safe to share between threads\n")
                .addJavadoc("@throws $T when a param without default was not set, or the jvm backend runs on a JVM without\n", IllegalStateException.class)
                .addJavadoc("    {@code --add-modules jdk.incubator.vector}\n")
                .addJavadoc("@throws $T when the backend's artifact is not on the class path (the message names it), or the\n", IllegalArgumentException.class)
                .addJavadoc("    backend cannot run on this machine\n")
                .addStatement("$T<String, $T> params = new $T<>()", Map.class, EXPR, LinkedHashMap.class);
        for (Param p : pattern.params()) {
            String name = javaName(p.name());
            TypeName boxed = javaType(p.type()).box();
            FieldSpec.Builder field = FieldSpec.builder(boxed, name, Modifier.PRIVATE);
            p.defaultValue().ifPresent(v -> field.initializer(literal(v)));
            b.addField(field.build());
            b.addMethod(MethodSpec.methodBuilder(name).addModifiers(Modifier.PUBLIC).returns(builder)
                    .addJavadoc("$L\n", p.doc().isEmpty() ? "Sets param <code>" + escape(p.name()) + "</code>." : escape(p.doc()))
                    .addJavadoc(p.defaultValue().map(v -> "<p>Default: <code>" + escape(Printer.expr(v)) + "</code>.\n\n").orElse("<p>Required.\n\n"))
                    .addJavadoc("@param $L the value, fixed in the compiled kernel\n@return this builder\n", name)
                    .addParameter(javaType(p.type()), name)
                    .addStatement("this.$L = $L", name, name).addStatement("return this").build());
            if (p.defaultValue().isEmpty()) {
                build.addStatement("if ($L == null) throw new $T($S)", name, IllegalStateException.class,
                        "param " + p.name() + " has no default: set it with ." + name + "(...)");
            }
            build.addStatement("params.put($S, $L)", p.name(), switch (p.type()) {
                case INT -> CodeBlock.of("new $T.IntLit($L)", EXPR, name);
                case FLOAT -> CodeBlock.of("new $T.FloatLit($L)", EXPR, name);
                case BOOL -> CodeBlock.of("new $T.BoolLit($L)", EXPR, name);
            });
        }
        b.addMethod(MethodSpec.methodBuilder("backend").addModifiers(Modifier.PUBLIC).returns(builder)
                .addJavadoc("The backend to compile for: {@code jvm} (default; artifact {@code dev.attnc:attnc-backend-jvm}),\n")
                .addJavadoc("{@code ptx} ({@code dev.attnc:attnc-backend-ptx}, an NVIDIA GPU) or {@code reference} (exact, slow).\n\n")
                .addJavadoc("@param backend the backend's name\n@return this builder\n")
                .addParameter(String.class, "backend")
                .addStatement("this.backend = $T.requireNonNull(backend, $S)", Objects.class, "backend")
                .addStatement("return this").build());
        b.addMethod(MethodSpec.methodBuilder("executor").addModifiers(Modifier.PUBLIC).returns(builder)
                .addJavadoc("Runs launches on the caller's executor instead of attnc's shared pool (one daemon thread per\n")
                .addJavadoc("core, or {@code -Dattnc.threads=N}): at most {@code parallelism} threads work on one launch, the\n")
                .addJavadoc("calling thread included. {@code executor(Runnable::run, 1)} keeps launches on the calling thread.\n")
                .addJavadoc("GPU kernels ignore it.\n\n")
                .addJavadoc("@param executor where helper tasks of a launch run\n")
                .addJavadoc("@param parallelism threads per launch, at least 1\n@return this builder\n")
                .addParameter(Executor.class, "executor").addParameter(int.class, "parallelism")
                .addStatement("this.executor = $T.requireNonNull(executor, $S)", Objects.class, "executor")
                .addStatement("if (parallelism < 1) throw new $T($S + parallelism)", IllegalArgumentException.class, "parallelism must be at least 1, got ")
                .addStatement("this.parallelism = parallelism")
                .addStatement("return this").build());
        build.addStatement("$T kernel", KERNEL)
                .addStatement("boolean loaded")
                .beginControlFlow("try")
                .addStatement("$T<$T> precompiled = $T.loadPrecompiled($T.class, $S, PATTERN, backend, PRECOMPILED.getOrDefault(backend, $T.of()))",
                        Optional.class, KERNEL, Attnc.class, self, pattern.name(), List.class)
                .addStatement("loaded = precompiled.isPresent()")
                .addStatement("kernel = loaded ? precompiled.get() : $T.compile($S, PATTERN, backend, params)", Attnc.class, pattern.name())
                .nextControlFlow("catch ($T e)", CompileException.class)
                .addStatement("throw new $T($S + e.getMessage(), e)", IllegalStateException.class, "attnc wrapper out of step with attnc: ")
                .endControlFlow()
                .addStatement("if (executor != null) kernel = kernel.withExecutor(executor, parallelism)")
                .addStatement("return new $T(kernel, loaded ? params : $T.of(), loaded)", self, Map.class);
        return b.addMethod(build.build()).build();
    }

    /** The launch problem from the wrapper's arguments, its launch-time params and an offset. */
    private static MethodSpec problemMethod(Pattern pattern) {
        MethodSpec.Builder m = MethodSpec.methodBuilder("problem").addModifiers(Modifier.PRIVATE).returns(Problem.class);
        m.addParameter(TENSOR, "q").addParameter(TENSOR, "k").addParameter(TENSOR, "v");
        for (Input input : pattern.inputs()) m.addParameter(TENSOR, javaName(input.name()));
        m.addParameter(int.class, "queryOffset");
        for (String name : new String[] {"q", "k", "v"}) m.addStatement("$T.requireNonNull($L, $S)", Objects.class, name, name);
        String args = pattern.inputs().stream().map(i -> javaName(i.name())).collect(Collectors.joining(", "));
        return m.addStatement("return new $T(q, k, v, inputs($L), launchParams, queryOffset)", Problem.class, args).build();
    }

    /** The pattern's inputs by their names in the .attn file, none null. */
    private static MethodSpec inputsMethod(Pattern pattern) {
        MethodSpec.Builder m = MethodSpec.methodBuilder("inputs").addModifiers(Modifier.PRIVATE, Modifier.STATIC)
                .returns(ParameterizedTypeName.get(ClassName.get(Map.class), ClassName.get(String.class), TENSOR));
        for (Input input : pattern.inputs()) m.addParameter(TENSOR, javaName(input.name()));
        m.addStatement("$T<String, $T> inputs = new $T<>()", Map.class, TENSOR, LinkedHashMap.class);
        for (Input input : pattern.inputs()) {
            String name = javaName(input.name());
            m.addStatement("inputs.put($S, $T.requireNonNull($L, $S))", input.name(), Objects.class, name, input.name());
        }
        return m.addStatement("return inputs").build();
    }

    private static FieldSpec precompiledField(Map<String, List<String>> precompiled) {
        CodeBlock.Builder value = CodeBlock.builder().add("$T.of(", Map.class);
        boolean first = true;
        for (var entry : new TreeMap<>(precompiled).entrySet()) {
            if (!first) value.add(", ");
            first = false;
            value.add("$S, $T.of(", entry.getKey(), List.class);
            List<String> files = entry.getValue().stream().sorted().toList();
            for (int i = 0; i < files.size(); i++) value.add(i == 0 ? "$S" : ", $S", files.get(i));
            value.add(")");
        }
        value.add(")");
        return FieldSpec.builder(ParameterizedTypeName.get(ClassName.get(Map.class), ClassName.get(String.class),
                        ParameterizedTypeName.get(List.class, String.class)), "PRECOMPILED", Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
                .addJavadoc("Kernel files exported at build time, by backend (resources under {@code attnc/<backend>/<this class>/}).\n")
                .initializer(value.build()).build();
    }

    private static TypeName javaType(Type type) {
        return switch (type) {
            case INT -> TypeName.INT;
            case FLOAT -> TypeName.DOUBLE;
            case BOOL -> TypeName.BOOLEAN;
        };
    }

    private static CodeBlock literal(Expr value) {
        return switch (value) {
            case Expr.IntLit(int v) -> CodeBlock.of("$L", v);
            case Expr.FloatLit(double v) -> CodeBlock.of("$L", Double.toString(v));
            case Expr.BoolLit(boolean v) -> CodeBlock.of("$L", v);
            default -> throw new IllegalArgumentException("param default is not a literal: " + Printer.expr(value));
        };
    }

    /** Pattern names are .attn identifiers; a few are Java keywords. */
    /** A Java keyword, or a name of the wrapper's own parameters, locals and fields, with an underscore after it. */
    static String javaName(String name) {
        return javax.lang.model.SourceVersion.isKeyword(name) || OWN_NAMES.contains(name) ? name + "_" : name;
    }

    private static final java.util.Set<String> OWN_NAMES = java.util.Set.of("k", "v", "out", "lse", "forward", "dOut", "queryOffset", "queryStarts",
            "cache", "inputs", "kernel", "launchParams");

    /**
     * Text from a pattern as javadoc shows it: HTML's specials as entities (patterns are full of
     * {@code &&} and {@code <}), {@code @} so no line reads as a block tag or {@code {@...}} as an
     * inline one, and the comment's end.
     */
    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '@' -> out.append("&#64;");
                case '/' -> out.append(i > 0 && text.charAt(i - 1) == '*' ? "&#47;" : "/");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
