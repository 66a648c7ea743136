package attnc.export;

import attnc.front.CompileException;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Type;
import attnc.launch.Problem;
import attnc.launch.Result;
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
import java.util.stream.Collectors;
import javax.lang.model.element.Modifier;

/**
 * A typed Java wrapper for one pattern: a builder with the pattern's params (typed, with their
 * defaults), {@code forward} taking the pattern's inputs as named arguments, and javadoc from the
 * pattern's doc comments. The wrapper carries the printed pattern; when built, it loads the kernel
 * the Maven plugin precompiled for the chosen backend (params then go in at launch), or else
 * compiles the pattern with the builder's params folded in.
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
     *     code, and passes its params at launch.
     */
    public static JavaFile generate(Pattern pattern, String packageName, String sourceName, String sourceSha256,
                                    Map<String, List<String>> precompiled) {
        String simpleName = className(pattern.name());
        ClassName self = ClassName.get(packageName, simpleName);
        ClassName builder = self.nestedClass("Builder");
        String printed = Printer.pattern(pattern);

        TypeSpec.Builder type = TypeSpec.classBuilder(simpleName)
                .addModifiers(Modifier.PUBLIC, Modifier.FINAL)
                .addSuperinterface(AutoCloseable.class)
                .addJavadoc(classDoc(pattern, sourceName))
                .addField(FieldSpec.builder(String.class, "PATTERN", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
                        .addJavadoc("The pattern as attnc prints it, imports resolved; compiled when a wrapper is built.\n")
                        .initializer("$S", printed).build())
                .addField(FieldSpec.builder(String.class, "SOURCE_SHA256", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
                        .addJavadoc("SHA-256 of the .attn source this wrapper was generated from.\n")
                        .initializer("$S", sourceSha256).build())
                .addField(precompiledField(precompiled))
                .addField(KERNEL, "kernel", Modifier.PRIVATE, Modifier.FINAL)
                .addField(boolean.class, "precompiled", Modifier.PRIVATE, Modifier.FINAL)
                .addField(ParameterizedTypeName.get(ClassName.get(Map.class), ClassName.get(String.class), EXPR),
                        "launchParams", Modifier.PRIVATE, Modifier.FINAL)
                .addMethod(MethodSpec.constructorBuilder().addModifiers(Modifier.PRIVATE)
                        .addParameter(KERNEL, "kernel")
                        .addParameter(ParameterizedTypeName.get(ClassName.get(Map.class), ClassName.get(String.class), EXPR), "launchParams")
                        .addParameter(boolean.class, "precompiled")
                        .addStatement("this.kernel = kernel").addStatement("this.launchParams = launchParams")
                        .addStatement("this.precompiled = precompiled").build())
                .addMethod(MethodSpec.methodBuilder("precompiled").addModifiers(Modifier.PUBLIC).returns(boolean.class)
                        .addJavadoc("Whether the kernel was loaded from files the Maven plugin generated at build time\n")
                        .addJavadoc("(no code generation at run time).\n")
                        .addStatement("return precompiled").build())
                .addMethod(MethodSpec.methodBuilder("builder").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
                        .returns(builder).addStatement("return new $T()", builder).build())
                .addMethod(forward(pattern, false))
                .addMethod(forward(pattern, true))
                .addMethod(MethodSpec.methodBuilder("kernel").addModifiers(Modifier.PUBLIC).returns(KERNEL)
                        .addJavadoc("The compiled kernel, for callers that build {@link $T}s themselves.\n", Problem.class)
                        .addStatement("return kernel").build())
                .addMethod(MethodSpec.methodBuilder("close").addAnnotation(Override.class).addModifiers(Modifier.PUBLIC)
                        .addStatement("kernel.close()").build())
                .addType(builderType(pattern, self, builder));
        return JavaFile.builder(packageName, type.build())
                .addFileComment("Generated by attnc from $L. Do not edit: change the .attn file instead.", sourceName)
                .skipJavaLangImports(true)
                .build();
    }

    private static CodeBlock classDoc(Pattern pattern, String sourceName) {
        CodeBlock.Builder doc = CodeBlock.builder();
        if (!pattern.doc().isEmpty()) doc.add("$L\n\n", escape(pattern.doc()));
        doc.add("<p>Attention pattern {@code $L}, generated by attnc from {@code $L}.\n", pattern.name(), sourceName);
        doc.add("<pre>\n$L</pre>\n", escape(Printer.pattern(pattern).lines()
                .filter(l -> !l.startsWith("//")).collect(Collectors.joining("\n")) + "\n"));
        return doc.build();
    }

    private static MethodSpec forward(Pattern pattern, boolean withOffset) {
        MethodSpec.Builder m = MethodSpec.methodBuilder("forward").addModifiers(Modifier.PUBLIC).returns(RESULT)
                .addJavadoc("Runs the pattern. Shapes are checked before anything runs; a mismatch throws\n")
                .addJavadoc("{@link $T} naming the expected and the actual shape.\n\n", attnc.launch.ShapeException.class)
                .addJavadoc("@param q queries [B, H, Nq, D]\n@param k keys [B, Hkv, Nkv, D]\n@param v values [B, Hkv, Nkv, Dv]\n");
        m.addParameter(TENSOR, "q").addParameter(TENSOR, "k").addParameter(TENSOR, "v");
        for (Input input : pattern.inputs()) {
            String shape = input.shape().stream().map(Printer::expr).collect(Collectors.joining(", ", "[", "]"));
            m.addParameter(TENSOR, javaName(input.name()));
            m.addJavadoc("@param $L $L $L$L\n", javaName(input.name()), input.dtype(), shape,
                    input.doc().isEmpty() ? "" : ": " + escape(input.doc()));
        }
        if (withOffset) {
            m.addParameter(int.class, "queryOffset");
            m.addJavadoc("@param queryOffset absolute position of the first query (decode against a KV cache)\n");
        }
        m.addJavadoc("@return the output [B, H, Nq, Dv] and, for softmax patterns, the LSE [B, H, Nq]\n");
        if (!withOffset) {
            String args = pattern.inputs().stream().map(i -> ", " + javaName(i.name())).collect(Collectors.joining());
            return m.addStatement("return forward(q, k, v$L, $T.BOTTOM_RIGHT)", args, Problem.class).build();
        }
        for (String name : new String[] {"q", "k", "v"}) m.addStatement("$T.requireNonNull($L, $S)", Objects.class, name, name);
        m.addStatement("$T<String, $T> inputs = new $T<>()", Map.class, TENSOR, LinkedHashMap.class);
        for (Input input : pattern.inputs()) {
            String name = javaName(input.name());
            m.addStatement("inputs.put($S, $T.requireNonNull($L, $S))", input.name(), Objects.class, name, input.name());
        }
        return m.addStatement("return kernel.forward(new $T(q, k, v, inputs, launchParams, queryOffset))", Problem.class).build();
    }

    private static TypeSpec builderType(Pattern pattern, ClassName self, ClassName builder) {
        TypeSpec.Builder b = TypeSpec.classBuilder("Builder").addModifiers(Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
                .addJavadoc("Sets the params (fixed in the compiled kernel) and the backend.\n")
                .addField(FieldSpec.builder(String.class, "backend", Modifier.PRIVATE).initializer("$S", "jvm").build())
                .addMethod(MethodSpec.constructorBuilder().addModifiers(Modifier.PRIVATE).build());
        MethodSpec.Builder build = MethodSpec.methodBuilder("build").addModifiers(Modifier.PUBLIC).returns(self)
                .addJavadoc("Compiles the kernel with these params.\n")
                .addStatement("$T<String, $T> params = new $T<>()", Map.class, EXPR, LinkedHashMap.class);
        for (Param p : pattern.params()) {
            String name = javaName(p.name());
            TypeName boxed = javaType(p.type()).box();
            FieldSpec.Builder field = FieldSpec.builder(boxed, name, Modifier.PRIVATE);
            p.defaultValue().ifPresent(v -> field.initializer(literal(v)));
            b.addField(field.build());
            b.addMethod(MethodSpec.methodBuilder(name).addModifiers(Modifier.PUBLIC).returns(builder)
                    .addJavadoc("$L\n", p.doc().isEmpty() ? "Sets param {@code " + p.name() + "}." : escape(p.doc()))
                    .addJavadoc(p.defaultValue().map(v -> "<p>Default: {@code " + Printer.expr(v) + "}.\n").orElse("<p>Required.\n"))
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
                .addJavadoc("The backend to compile for: {@code jvm} (default), {@code ptx} or {@code reference}.\n")
                .addParameter(String.class, "backend")
                .addStatement("this.backend = $T.requireNonNull(backend, $S)", Objects.class, "backend")
                .addStatement("return this").build());
        build.beginControlFlow("try")
                .addStatement("$T<$T> precompiled = $T.loadPrecompiled($T.class, $S, PATTERN, backend, PRECOMPILED.getOrDefault(backend, $T.of()))",
                        java.util.Optional.class, KERNEL, Attnc.class, self, pattern.name(), List.class)
                .beginControlFlow("if (precompiled.isPresent())")
                .addStatement("return new $T(precompiled.get(), params, true)", self)
                .endControlFlow()
                .addStatement("return new $T($T.compile($S, PATTERN, backend, params), $T.of(), false)", self, Attnc.class, pattern.name(), Map.class)
                .nextControlFlow("catch ($T e)", CompileException.class)
                .addStatement("throw new $T($S + e.getMessage(), e)", IllegalStateException.class, "attnc wrapper out of step with attnc: ")
                .endControlFlow();
        return b.addMethod(build.build()).build();
    }

    private static FieldSpec precompiledField(Map<String, List<String>> precompiled) {
        CodeBlock.Builder value = CodeBlock.builder().add("$T.of(", Map.class);
        boolean first = true;
        for (var entry : precompiled.entrySet()) {
            if (!first) value.add(", ");
            first = false;
            value.add("$S, $T.of(", entry.getKey(), List.class);
            for (int i = 0; i < entry.getValue().size(); i++) value.add(i == 0 ? "$S" : ", $S", entry.getValue().get(i));
            value.add(")");
        }
        value.add(")");
        return FieldSpec.builder(ParameterizedTypeName.get(ClassName.get(Map.class), ClassName.get(String.class),
                        ParameterizedTypeName.get(List.class, String.class)), "PRECOMPILED", Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
                .addJavadoc("Kernel files exported at build time, by backend (resources under attnc/<backend>/<this class>/).\n")
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
    static String javaName(String name) {
        return javax.lang.model.SourceVersion.isKeyword(name) ? name + "_" : name;
    }

    private static String escape(String doc) {
        return doc.replace("*/", "*&#47;");
    }
}
