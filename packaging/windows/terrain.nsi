; Terrain's per-user Windows installer (makensis, Debian package nsis).
; Built by scripts/dist.sh, which defines VERSION (X.Y.Z), FULLVERSION
; (git describe), SRCDIR (the folder holding Terrain.exe, terrain-cli.exe)
; and OUTFILE.
;
; Per user: no administrator rights, installed in
; %LOCALAPPDATA%\Programs\Terrain, Start-menu shortcut in the user's own
; menu carrying the app's AppUserModelID (Windows shows a toast only for an
; app whose shortcut has it), uninstaller listed in the user's "Apps".
; The profile (%LOCALAPPDATA%\Terrain) is kept on uninstall unless the
; user ticks "Delete my Terrain data".

Unicode true
Target amd64-unicode
RequestExecutionLevel user
SetCompressor /SOLID lzma

!define APPNAME "Terrain"
!define APPID "coop.leconsortium.terrain"
!define PUBLISHER "Le Consortium"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPID}"

Name "${APPNAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APPNAME}"
InstallDirRegKey HKCU "${UNINSTKEY}" "InstallLocation"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=1036 "ProductName" "${APPNAME}"
VIAddVersionKey /LANG=1036 "FileDescription" "Installation de ${APPNAME}"
VIAddVersionKey /LANG=1036 "FileVersion" "${FULLVERSION}"
VIAddVersionKey /LANG=1036 "ProductVersion" "${FULLVERSION}"
VIAddVersionKey /LANG=1036 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=1036 "LegalCopyright" "${PUBLISHER}"

!include MUI2.nsh
!include LogicLib.nsh
!include Win\COM.nsh
!include Win\Propkey.nsh

!define MUI_ICON "${SRCDIR}\Terrain.ico"
!define MUI_UNICON "${SRCDIR}\Terrain.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\Terrain.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "French"
!insertmacro MUI_LANGUAGE "English"

LangString DataSection ${LANG_FRENCH} "Supprimer mes données Terrain (profil, journal)"
LangString DataSection ${LANG_ENGLISH} "Delete my Terrain data (profile, log)"

; SetAUMID gives the shortcut at path the app's AppUserModelID.
!macro SetAUMID path
	!insertmacro ComHlpr_CreateInProcInstance ${CLSID_ShellLink} ${IID_IShellLink} r0 ""
	${If} $0 P<> 0
		${IUnknown::QueryInterface} $0 '("${IID_IPersistFile}",.r1)'
		${If} $1 P<> 0
			${IPersistFile::Load} $1 '("${path}",${STGM_READWRITE})'
			${IUnknown::QueryInterface} $0 '("${IID_IPropertyStore}",.r2)'
			${If} $2 P<> 0
				System::Call '*${SYSSTRUCT_PROPERTYKEY}(${PKEY_AppUserModel_ID})p.r3'
				System::Call 'ole32::CoTaskMemAlloc(i 128)p.r4'
				System::Call '*$4(&w64 "${APPID}")'
				System::Call '*(&i2 ${VT_LPWSTR}, &i6, p r4, &i8)p.r5'
				${IPropertyStore::SetValue} $2 '($3,$5)'
				${IPropertyStore::Commit} $2 ""
				${IUnknown::Release} $2 ""
				System::Free $3
				System::Free $5
				System::Call 'ole32::CoTaskMemFree(p r4)'
			${EndIf}
			${IPersistFile::Save} $1 '("${path}",1)'
			${IUnknown::Release} $1 ""
		${EndIf}
		${IUnknown::Release} $0 ""
	${EndIf}
!macroend

Section "Terrain" SecApp
	SectionIn RO
	SetShellVarContext current
	SetOutPath "$INSTDIR"
	File "${SRCDIR}\Terrain.exe"
	File "${SRCDIR}\terrain-cli.exe"
	File "${SRCDIR}\Terrain.ico"
	WriteUninstaller "$INSTDIR\uninstall.exe"
	CreateShortCut "$SMPROGRAMS\${APPNAME}.lnk" "$INSTDIR\Terrain.exe" "" "$INSTDIR\Terrain.ico"
	!insertmacro SetAUMID "$SMPROGRAMS\${APPNAME}.lnk"
	WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "${APPNAME}"
	WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${FULLVERSION}"
	WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "${PUBLISHER}"
	WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\Terrain.ico"
	WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
	WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
	WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
	WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
	WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
SectionEnd

Section "un.Terrain" UnSecApp
	SectionIn RO
	SetShellVarContext current
	Delete "$SMPROGRAMS\${APPNAME}.lnk"
	Delete "$INSTDIR\Terrain.exe"
	Delete "$INSTDIR\terrain-cli.exe"
	Delete "$INSTDIR\Terrain.ico"
	Delete "$INSTDIR\uninstall.exe"
	RMDir "$INSTDIR"
	DeleteRegKey HKCU "${UNINSTKEY}"
SectionEnd

; Not selected: the coordinator's unsent visits live in the profile.
Section /o "un.$(DataSection)" UnSecData
	RMDir /r "$LOCALAPPDATA\${APPNAME}"
SectionEnd
