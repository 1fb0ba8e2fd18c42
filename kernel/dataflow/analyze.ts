/**
 * What one cell defines and what it reads, from its syntax alone (marimo's static analysis, done
 * with the TypeScript parser tslab already ships). Definitions are the cell's top-level
 * declarations and import bindings; references are identifiers in reference position that no
 * scope inside the cell declares. Names starting with `_` stay cell-local: they are neither
 * defined for nor read from other cells.
 */
import * as ts from '@tslab/typescript-for-tslab';

export interface CellAnalysis {
  /** Top-level names the cell declares, in source order, `_`-prefixed ones left out. */
  defines: string[];
  /** Free names: read but not declared in the cell (globals included), `_`-prefixed left out. */
  refs: string[];
  /** For each imported name: `module#binding`, so re-importing the same thing is no change. */
  imports: Record<string, string>;
}

interface Scope {
  names: Set<string>;
  parent?: Scope;
}

export const isLocalName = (name: string) => name.startsWith('_');

export function analyzeCell(code: string): CellAnalysis {
  const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.Latest, true);
  const top = topLevel(file);
  // A `var` in a top-level block is a top-level name too (tslab shares the file's locals).
  const names = [...new Set([...top.names, ...hoistedVars(file.statements)])];
  const root: Scope = { names: new Set(names) };
  const refs = new Set<string>();
  const visit = (node: ts.Node, scope: Scope): void => {
    if (ts.isIdentifier(node)) {
      const name = node.text;
      if (isReference(node) && !isLocalName(name) && !resolves(scope, name)) refs.add(name);
      return;
    }
    const inner = node === file ? scope : (scopeOf(node, scope) ?? scope);
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(file, root);
  return {
    defines: names.filter((n) => !isLocalName(n)),
    refs: [...refs],
    imports: top.imports,
  };
}

function resolves(scope: Scope | undefined, name: string): boolean {
  for (let s = scope; s; s = s.parent) if (s.names.has(name)) return true;
  return false;
}

/** Names bound by a binding name (`x`, `{ a, b: [c] }`, `[d, ...e]`). */
export function bindingNames(name: ts.BindingName, out: string[] = []): string[] {
  if (ts.isIdentifier(name)) out.push(name.text);
  else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, out);
  return out;
}

/** The cell's own top-level declarations, and where each imported name comes from. */
function topLevel(file: ts.SourceFile): { names: string[]; imports: Record<string, string> } {
  const names: string[] = [];
  const imports: Record<string, string> = {};
  for (const st of file.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const from = st.moduleSpecifier.text;
      for (const [local, imported] of importBindings(st)) {
        names.push(local);
        imports[local] = `${from}#${imported}`;
      }
    } else if (ts.isImportEqualsDeclaration(st)) {
      names.push(st.name.text);
      const ref = st.moduleReference;
      if (ts.isExternalModuleReference(ref) && ts.isStringLiteral(ref.expression))
        imports[st.name.text] = `${ref.expression.text}#=`;
    } else {
      names.push(...lexicalNames(st, true));
    }
  }
  return { names, imports };
}

/** [local name, imported name] of each binding of an import declaration. */
function importBindings(st: ts.ImportDeclaration): Array<[string, string]> {
  const clause = st.importClause;
  if (!clause) return [];
  const out: Array<[string, string]> = [];
  if (clause.name) out.push([clause.name.text, 'default']);
  const nb = clause.namedBindings;
  if (nb && ts.isNamespaceImport(nb)) out.push([nb.name.text, '*']);
  if (nb && ts.isNamedImports(nb))
    for (const el of nb.elements) out.push([el.name.text, (el.propertyName ?? el.name).text]);
  return out;
}

/**
 * Names a statement declares in the block that holds it: let/const (and var when `withVar`, for
 * the cell's top level), functions, classes, enums, namespaces, interfaces and type aliases.
 */
function lexicalNames(st: ts.Statement, withVar: boolean): string[] {
  if (ts.isVariableStatement(st)) {
    const flags = st.declarationList.flags;
    const blockScoped = (flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) !== 0;
    if (!blockScoped && !withVar) return [];
    return st.declarationList.declarations.flatMap((d) => bindingNames(d.name));
  }
  if (
    (ts.isFunctionDeclaration(st) ||
      ts.isClassDeclaration(st) ||
      ts.isEnumDeclaration(st) ||
      ts.isInterfaceDeclaration(st) ||
      ts.isTypeAliasDeclaration(st)) &&
    st.name
  )
    return [st.name.text];
  // `declare global { ... }` augments the global scope; it names nothing in the cell
  const augments = (st.flags & ts.NodeFlags.GlobalAugmentation) !== 0;
  if (ts.isModuleDeclaration(st) && ts.isIdentifier(st.name) && !augments) return [st.name.text];
  if (ts.isImportDeclaration(st)) return importBindings(st).map(([local]) => local);
  if (ts.isImportEqualsDeclaration(st)) return [st.name.text];
  return [];
}

/** `var` names declared anywhere in `statements` outside nested functions and classes. */
function hoistedVars(statements: ts.NodeArray<ts.Statement> | readonly ts.Node[]): string[] {
  const out: string[] = [];
  const walk = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isVariableDeclarationList(node)) {
      if ((node.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) === 0)
        for (const d of node.declarations) bindingNames(d.name, out);
    }
    ts.forEachChild(node, walk);
  };
  for (const st of statements) walk(st);
  return out;
}

const typeParams = (node: { typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }) =>
  node.typeParameters?.map((p) => p.name.text) ?? [];

/** The scope `node` opens, with the names it declares; undefined when it opens none. */
function scopeOf(node: ts.Node, parent: Scope): Scope | undefined {
  const names = declaredIn(node);
  return names ? { names: new Set(names), parent } : undefined;
}

function declaredIn(node: ts.Node): string[] | undefined {
  if (ts.isBlock(node) || ts.isModuleBlock(node))
    return [
      ...node.statements.flatMap((s) => lexicalNames(s, false)),
      ...(ts.isModuleBlock(node) ? hoistedVars(node.statements) : []),
    ];
  if (ts.isCaseBlock(node))
    return node.clauses.flatMap((c) => c.statements.flatMap((s) => lexicalNames(s, false)));
  if (ts.isFunctionLike(node)) return functionScope(node);
  if (ts.isClassLike(node))
    return [
      ...typeParams(node),
      ...(ts.isClassExpression(node) && node.name ? [node.name.text] : []),
    ];
  if (ts.isForStatement(node) || ts.isForInStatement(node) || ts.isForOfStatement(node)) {
    const init = node.initializer;
    return init && ts.isVariableDeclarationList(init)
      ? init.declarations.flatMap((d) => bindingNames(d.name))
      : [];
  }
  if (ts.isCatchClause(node))
    return node.variableDeclaration ? bindingNames(node.variableDeclaration.name) : [];
  if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return typeParams(node);
  if (ts.isEnumDeclaration(node))
    return node.members.flatMap((m) => (ts.isIdentifier(m.name) ? [m.name.text] : []));
  if (ts.isMappedTypeNode(node)) return [node.typeParameter.name.text];
  if (ts.isConditionalTypeNode(node)) return inferNames(node.extendsType);
  return undefined;
}

/** Parameters, type parameters, a function expression's own name, `arguments`, hoisted vars. */
function functionScope(node: ts.SignatureDeclaration): string[] {
  const names = [...typeParams(node), ...node.parameters.flatMap((p) => bindingNames(p.name))];
  if ((ts.isFunctionExpression(node) || ts.isFunctionDeclaration(node)) && node.name)
    names.push(node.name.text);
  const body = (node as { body?: ts.Node }).body;
  if (body && !ts.isArrowFunction(node)) names.push('arguments');
  if (body && ts.isBlock(body)) names.push(...hoistedVars(body.statements));
  return names;
}

function inferNames(node: ts.Node): string[] {
  const out: string[] = [];
  const walk = (n: ts.Node): void => {
    if (ts.isInferTypeNode(n)) out.push(n.typeParameter.name.text);
    ts.forEachChild(n, walk);
  };
  walk(node);
  return out;
}

/** Whether an identifier reads a binding (rather than naming a declaration, property or label). */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (!p) return true;
  if (ts.isPropertyAccessExpression(p)) return p.expression === id;
  if (ts.isQualifiedName(p)) return p.left === id;
  if (ts.isShorthandPropertyAssignment(p)) return true;
  // name: a declaration; propertyName: the source's property; only a default value reads
  if (ts.isBindingElement(p)) return p.initializer === id;
  if (ts.isImportSpecifier(p)) return false;
  if (ts.isExportSpecifier(p)) {
    const from = p.parent.parent.moduleSpecifier;
    return !from && (p.propertyName ? p.propertyName === id : p.name === id);
  }
  if (ts.isImportTypeNode(p)) return false;
  if (isDeclarationName(p, id)) return false;
  if (
    ts.isLabeledStatement(p) ||
    ts.isBreakOrContinueStatement(p) ||
    ts.isMetaProperty(p) ||
    ts.isJsxAttribute(p) ||
    ts.isNamedTupleMember(p)
  )
    return false;
  return true;
}

/** `id` is the name of the declaration or member `p` (a property name included). */
function isDeclarationName(p: ts.Node, id: ts.Identifier): boolean {
  const named = p as ts.Node & { name?: ts.Node };
  if (named.name !== id) return false;
  return (
    ts.isVariableDeclaration(p) ||
    ts.isParameter(p) ||
    ts.isFunctionLike(p) ||
    ts.isClassLike(p) ||
    ts.isInterfaceDeclaration(p) ||
    ts.isTypeAliasDeclaration(p) ||
    ts.isEnumDeclaration(p) ||
    ts.isEnumMember(p) ||
    ts.isModuleDeclaration(p) ||
    ts.isTypeParameterDeclaration(p) ||
    ts.isPropertyDeclaration(p) ||
    ts.isPropertySignature(p) ||
    ts.isPropertyAssignment(p) ||
    ts.isImportClause(p) ||
    ts.isNamespaceImport(p) ||
    ts.isImportSpecifier(p) ||
    ts.isImportEqualsDeclaration(p) ||
    ts.isNamespaceExport(p)
  );
}
